"""The exporter's incremental read equals a fresh full read at every clock, on real Redis.

State is written by the worker's own writer (prepare + commit) on three partitions. The
clock then walks across every kind of edge — the minute an item leaves the 1h window,
hour and local-midnight ends, a due time (overdue), a due time 24 h and 72 h ahead (due
soon), a month's end — and at each step :class:`CachedReader` must equal
:func:`read_snapshot`; new batches land between steps; the state is deleted and rebuilt.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio

from ioc_monitor.redis.cache import CachedReader
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.redis.reader import read_snapshot
from ioc_monitor.redis.writer import commit, prepare
from tests.integration.shared_redis import delete_prefix

pytestmark = pytest.mark.integration

LOCAL = timezone(timedelta(hours=7))
UNITS = ("u-a", "u-b", "u-c")
#: The clock walks from here: 2026-03-31 16:00 local, before a month's end.
T0 = datetime(2026, 3, 31, 16, 0, tzinfo=LOCAL).timestamp()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, LOCAL).isoformat()


def _log(rng: random.Random, n: int, around: float, start: int = 0) -> list[bytes]:
    """``n`` dossiers' events before ``around``: receipts, some completions, v2 fields.

    Due times fall up to 4 days either side of ``around``, so the clock meets them.
    """
    out: list[bytes] = []
    for i in range(start, start + n):
        received = around - rng.uniform(600, 3 * 86400)
        due = around + rng.choice([-1, 1]) * rng.uniform(0, 4 * 86400)
        due = max(due, received)
        base: dict[str, Any] = {
            "dossier_id": f"d{i}",
            "unit_id": rng.choice(UNITS),
            "received_at": _iso(received),
            "due_at": _iso(due),
            "channel": rng.choice(["online", "in_person"]),
            "digitized": rng.random() < 0.7,
        }
        occurred = received + rng.uniform(0, 600)
        out.append(orjson.dumps({**base, "event_id": f"e{i}a", "status": 2,
                                 "occurred_at": _iso(occurred)}))  # fmt: skip
        if rng.random() < 0.5:
            end = occurred + rng.uniform(0, around - occurred)
            rating = rng.choice(["satisfied", "unsatisfied"])
            out.append(orjson.dumps({**base, "event_id": f"e{i}b", "status": 10,
                                     "occurred_at": _iso(end), "paid_online": True,
                                     "rating": rating}))  # fmt: skip
    return out


async def _write(url: str, prefix: str, messages: list[bytes], offsets: dict[int, int]) -> None:
    """Apply messages to 3 partitions by dossier, continuing each partition's offsets."""
    by_part: dict[int, list[bytes]] = {}
    for m in messages:
        by_part.setdefault(hash(orjson.loads(m)["dossier_id"]) % 3, []).append(m)
    client = redis.asyncio.Redis.from_url(url)
    try:
        for p, values in sorted(by_part.items()):
            keys = PartitionKeys(prefix, p)
            await client.sadd(global_key(prefix, "parts"), p)
            first = offsets.get(p, 0)
            batch = [(first + i, v) for i, v in enumerate(values)]
            offsets[p] = first + len(values)
            prep = await prepare(client, keys, batch, set(UNITS))
            assert prep is not None and await commit(client, prep)
    finally:
        await client.aclose()


def _clocks() -> list[float]:
    """Clocks across minute, hour, 17:00 (due times), midnight and month ends."""
    out = [T0 + s for s in range(0, 3 * 3600, 47)]  # every 47 s for three hours
    midnight = datetime(2026, 4, 1, tzinfo=LOCAL).timestamp()
    out += [midnight + s for s in range(-600, 600, 13)]
    out += [T0 + d * 86400 + s for d in (1, 2, 3) for s in (0.0, 3600.0, 3600.5)]
    return sorted(out)


def test_cached_reads_equal_fresh_reads_as_the_wall_clock_moves(
    redis_url: str, redis_prefix: str
) -> None:
    rng = random.Random(7)
    offsets: dict[int, int] = {}
    asyncio.run(_write(redis_url, redis_prefix, _log(rng, 120, T0), offsets))
    client = redis.Redis.from_url(redis_url)
    cached = CachedReader(client, redis_prefix, "wall")
    try:
        rereads = []
        for step, t in enumerate(_clocks()):
            if step % 97 == 50:  # new batches land between scrapes
                more = _log(rng, 15, t, start=1000 + step)
                asyncio.run(_write(redis_url, redis_prefix, more, offsets))
            got = cached.snapshot(now=t)
            assert got == read_snapshot(client, redis_prefix, "wall", now=t), (step, t)
            rereads.append(cached.last.reread)
        assert cached.last.units == len(UNITS)
        assert rereads[0] == len(UNITS)  # the first scrape reads everything
        assert rereads.count(0) > len(rereads) // 2  # most scrapes read no unit at all
    finally:
        client.close()


def test_event_clock_and_a_rebuilt_state(redis_url: str, redis_prefix: str) -> None:
    rng = random.Random(3)
    offsets: dict[int, int] = {}
    client = redis.Redis.from_url(redis_url)
    cached = CachedReader(client, redis_prefix, "event")
    try:
        assert cached.snapshot() == read_snapshot(client, redis_prefix, "event")  # empty
        for round_ in range(6):
            more = _log(rng, 20, T0 + round_ * 5000, start=100 * round_)
            asyncio.run(_write(redis_url, redis_prefix, more, offsets))
            assert cached.snapshot() == read_snapshot(client, redis_prefix, "event"), round_
            assert cached.snapshot() == read_snapshot(client, redis_prefix, "event")
            assert cached.last.reread == 0  # nothing changed, the clock did not move
        delete_prefix(client, redis_prefix)  # the state is gone (ioc recover) and rebuilt
        offsets.clear()
        asyncio.run(_write(redis_url, redis_prefix, _log(rng, 10, T0, start=9000), offsets))
        assert cached.snapshot() == read_snapshot(client, redis_prefix, "event")
        assert cached.last.full
    finally:
        client.close()


def test_a_shard_reads_only_its_units(redis_url: str, redis_prefix: str) -> None:
    asyncio.run(_write(redis_url, redis_prefix, _log(random.Random(5), 40, T0), {}))
    client = redis.Redis.from_url(redis_url)
    try:
        shard = CachedReader(client, redis_prefix, "wall", only=frozenset({"u-b"}))
        got = shard.snapshot(now=T0)
        full = read_snapshot(client, redis_prefix, "wall", now=T0)
        assert set(got.units) == {"u-b"}
        assert got.units["u-b"] == full.units["u-b"]
        assert got.processed == full.processed
    finally:
        client.close()
