"""The Lua scripts touch only the keys they declare in ``KEYS``, on a real Redis.

Both scripts start with ``local call = redis.call`` and make every Redis call through
``call``. Here that first line is swapped for a checking ``call`` that looks each
command's key positions up in the server's own ``COMMAND INFO`` (first key, last key,
step; ``DEL`` takes any number) and raises on a key argument not in ``KEYS``, or on a
command whose keys it cannot locate. A realistic feed (the simulator, two commune
units, 40 days with noise: rejections, duplicates, hours crossed in every batch, hour
shards falling out of retention) is then written through the writer into three
partitions and read back with the reader, both running the checked scripts; the figures
must equal the offline store's over the same messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import zlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis
from redis.asyncio import Redis

from ioc_monitor.offline import process
from ioc_monitor.redis import reader, scripts, writer
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.registry import parse_registry
from services.bench.state import registry_yaml
from services.simulate.feed import SimConfig, generate_lines

pytestmark = pytest.mark.integration

PARTITIONS = 3
#: Messages per chunk of the log, spread over the partitions: in turn a few (commits
#: within an hour, no prune) and about a day of the two units (every commit prunes).
CHUNKS = (12, 12, 12, 12, 600)

_CHECKER = """
local declared = {{}}
for _, key in ipairs(KEYS) do declared[key] = true end
local spec = {{{spec}}}
local function call(command, ...)
  local s = spec[string.lower(command)]
  if not s then error('key positions of ' .. command .. ' unknown') end
  local args, n = {{...}}, select('#', ...)
  local last = s[2] < 0 and n + 1 + s[2] or s[2]
  if s[1] > 0 then
    for i = s[1], last, s[3] do
      if not declared[args[i]] then
        error('undeclared key ' .. tostring(args[i]) .. ' in ' .. command)
      end
    end
  end
  return redis.call(command, ...)
end"""


def _checker(client: redis.Redis) -> str:
    """Lua defining a checking ``call``, with the key positions from ``COMMAND INFO``."""
    entries = []
    for name, info in client.command().items():
        if "movablekeys" in info["flags"]:
            continue  # keys found by parsing the arguments: left out, so refused
        first, last, step = info["first_key_pos"], info["last_key_pos"], info["step_count"]
        entries.append(f'["{name}"] = {{{first}, {last}, {step}}}')
    return _CHECKER.format(spec=", ".join(entries))


def checked(script: str, checker: str) -> str:
    """The script with its first line replaced by ``checker``."""
    first, _, body = script.partition("\n")
    assert first == scripts.CALL_LINE
    assert "redis." not in body  # every call goes through ``call``
    return checker + "\n" + body


@pytest.fixture
def checker(redis_url: str) -> Iterator[str]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield _checker(client)
    finally:
        client.close()


def test_the_checker_refuses_an_undeclared_key(
    redis_url: str, redis_prefix: str, checker: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    a, b = f"{redis_prefix}:a", f"{redis_prefix}:b"
    try:
        script = checked(scripts.CALL_LINE + "\nreturn call('DEL', KEYS[1], ARGV[1])", checker)
        assert client.eval(script, 1, a, a) == 0  # declared twice: fine
        with pytest.raises(redis.ResponseError, match=f"undeclared key {b} in DEL"):
            client.eval(script, 1, a, b)
        with pytest.raises(redis.ResponseError, match="undeclared key"):
            client.eval(checked(scripts.CALL_LINE + "\nreturn call('GET', ARGV[1])", checker), 0, a)
    finally:
        client.close()


def _feed() -> tuple[list[bytes], list[str]]:
    registry = parse_registry(registry_yaml(2))
    lines = list(generate_lines(registry, SimConfig(seed=11, days=40), noise=0.05))
    return lines, list(registry.ids)


def _partition(raw: bytes) -> int:
    try:
        dossier = str(orjson.loads(raw).get("dossier_id", ""))
    except (orjson.JSONDecodeError, AttributeError):
        dossier = ""
    return zlib.crc32(dossier.encode()) % PARTITIONS


async def _write(url: str, prefix: str, lines: list[bytes], units: list[str]) -> tuple[int, int]:
    """Write the feed in log order, as a worker would, in batches of each partition.

    Returns:
        The commits without and with a prune.
    """
    client = Redis.from_url(url)
    offsets = [0] * PARTITIONS
    commits = [0, 0]
    start = 0
    try:
        for p in range(PARTITIONS):
            await client.sadd(global_key(prefix, "parts"), p)
        for size in itertools.cycle(CHUNKS):
            if start >= len(lines):
                break
            by_part: dict[int, list[tuple[int, bytes]]] = {}
            for raw in lines[start : start + size]:
                p = _partition(raw)
                by_part.setdefault(p, []).append((offsets[p], raw))
                offsets[p] += 1
            for p, batch in sorted(by_part.items()):
                prep = await writer.prepare(client, PartitionKeys(prefix, p), batch, set(units))
                assert prep is not None and await writer.commit(client, prep, {"wall": "1"})
                commits[prep.prune is not None] += 1
            start += size
    finally:
        await client.aclose()
    return commits[0], commits[1]


def test_scripts_touch_only_declared_keys(
    redis_url: str, redis_prefix: str, checker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_lua = checked(scripts.APPLY_LUA, checker)
    monkeypatch.setattr(writer, "APPLY_LUA", apply_lua)
    monkeypatch.setattr(writer, "_APPLY_SHA", hashlib.sha1(apply_lua.encode()).hexdigest())
    monkeypatch.setattr(reader, "READ_LUA", checked(scripts.READ_LUA, checker))
    lines, units = _feed()
    plain, pruned = asyncio.run(_write(redis_url, redis_prefix, lines, units))
    assert plain > 50 and pruned > 50
    store = process(iter(lines), parse_registry(registry_yaml(2)))
    assert store.watermark is not None and store.processed > 10_000
    assert sum(store.rejected.values()) > 0 and store.duplicate > 0
    client = redis.Redis.from_url(redis_url)
    try:
        # Retention dropped the minute shards older than 26 h and the hour shards older
        # than 32 days, among them some the batches themselves wrote.
        k = PartitionKeys(redis_prefix, 0)
        assert 0 < client.zcard(k.bucket_index(units[0], "m")) <= 28
        assert 0 < client.zcard(k.bucket_index(units[0], "h")) <= 33
        for clock in (store.watermark, store.watermark + 1800):
            got = reader.read_snapshot(client, redis_prefix, "wall", now=clock)
            want = store.snapshot(clock)
            assert got.units == want.units
            assert (got.processed, got.duplicate) == (want.processed, want.duplicate)
            assert dict(got.rejected) == dict(want.rejected)
    finally:
        client.close()


def test_a_unit_added_between_the_reads_is_read_again(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit adding a unit after the units sets were read: the script refuses, the
    reader starts over and sees the unit (as the old script, reading them itself, did)."""
    client = redis.Redis.from_url(redis_url)
    k = PartitionKeys(redis_prefix, 0)
    client.sadd(global_key(redis_prefix, "parts"), 0)
    client.sadd(k.units, "u-a")
    client.hset(k.totals("u-a"), "received:postal", 2)
    calls: list[int] = []
    run = reader._run_script

    def commit_in_between(*args: Any) -> list[Any] | None:
        if not calls:  # a worker's commit lands after the second round trip
            client.sadd(k.units, "u-b")
            client.hset(k.totals("u-b"), "received:postal", 5)
        calls.append(1)
        return run(*args)

    monkeypatch.setattr(reader, "_run_script", commit_in_between)
    try:
        snap = reader.read_snapshot(client, redis_prefix, "wall", now=1_740_964_500.0)
    finally:
        client.close()
    assert len(calls) == 2
    assert snap.units["u-a"].totals["received:postal"] == 2
    assert snap.units["u-b"].totals["received:postal"] == 5
