"""Bucket shards on a real Redis: what the writer keeps, prunes, and the reader sums.

Three dossiers of one unit are received on 10 January, 1 March and 3 March 2025
(local time). When the watermark reaches 3 March, the writer's retention drops the
minute shards older than 26 h and the hour shards older than 32 days, keeps every
day and month shard, and the reader's windows at the event clock still count what
KPIS.md says (worked out by hand below).
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
import redis
from redis.asyncio import Redis

from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.redis.reader import read_snapshot
from ioc_monitor.redis.writer import commit, prepare
from ioc_monitor.registry import load_registry

pytestmark = pytest.mark.integration

UNIT = "qn-ttpvhcc"
TIMES = ("2025-01-10T10:00:00+07:00", "2025-03-01T09:30:00+07:00", "2025-03-03T08:15:00+07:00")


def _received(i: int, at: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"s-{i}",
            "dossier_id": f"S-{i}",
            "unit_id": UNIT,
            "status": "received",
            "occurred_at": at,
            "received_at": at,
            "due_at": "2025-12-31T17:00:00+07:00",
        }
    )


def test_shards_are_pruned_and_windows_still_add_up(redis_url: str, redis_prefix: str) -> None:
    prefix = redis_prefix
    units = load_registry(None).ids
    keys = PartitionKeys(prefix, 0)

    async def write() -> None:
        client = Redis.from_url(redis_url)
        try:
            for i, at in enumerate(TIMES):  # one batch each: the watermark moves 3 times
                prep = await prepare(client, keys, [(i, _received(i, at))], units)
                assert prep is not None and await commit(client, prep)
        finally:
            await client.aclose()

    asyncio.run(write())
    sync = redis.Redis.from_url(redis_url)
    try:
        sync.sadd(global_key(prefix, "parts"), 0)
        present = {
            k.decode().removeprefix(f"{keys.tag}:")
            for k in sync.scan_iter(match=f"{keys.tag}:*:{UNIT}:*")
        }
        # Shard ids, by hand: local day 2025-03-01 = day 20_148 (2025-01-10 = 20_098);
        # hour 2025-03-03 08:00 local = 01:00 UTC = hour 20_150 × 24 + 1 = 483_601;
        # months since year 0: January 2025 = 24_300, March 2025 = 24_302.
        assert present == {
            f"m:{UNIT}:483601",  # minutes of 3 March 08:00 only (older ones pruned)
            f"h:{UNIT}:20148",  # hours of 1 March ...
            f"h:{UNIT}:20150",  # ... and 3 March; 10 January is older than 32 days
            f"d:{UNIT}:24300",  # days of January and March: kept 400 days
            f"d:{UNIT}:24302",
            f"mo:{UNIT}:2025",  # months of 2025
        }
        assert sync.zrange(keys.bucket_index(UNIT, "m"), 0, -1) == [b"483601"]
        assert sync.hgetall(keys.buckets(UNIT, "mo", 2025)) == {
            b"24300|received:in_person": b"1",
            b"24302|received:in_person": b"2",
        }
        snap = read_snapshot(sync, prefix, "event")
    finally:
        sync.close()
    windows = snap.units[UNIT].windows
    one, two, three = ({"received:in_person": n} for n in (1, 2, 3))
    assert windows["1h"] == one and windows["24h"] == one and windows["today"] == one
    assert windows["7d"] == two and windows["30d"] == two and windows["month"] == two
    assert windows["quarter"] == three and windows["year"] == three
    assert snap.units[UNIT].in_progress == 3
