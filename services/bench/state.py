"""Synthetic unit registries and Redis state for ``make bench``; Redis memory breakdown.

The scrape benchmark needs the state of many busy units. Simulating thousands of units
for a year is too slow, so one commune-level unit is simulated at its realistic volume
(``ioc simulate``, 400 days: every day bucket the year window can use, 31 days of hour
buckets, 26 h of minute buckets), written through the worker's own code path
(:class:`streams.processor.BatchProcessor`, i.e. ``ioc_monitor.redis.writer.prepare``/``commit``)
into 6 partitions, and its keys are then copied (``COPY``) to every other unit of the
synthetic registry. Each unit thus carries the state of a full year at commune volume.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from ioc_monitor.config import RedisSettings
from ioc_monitor.logs import iter_messages
from ioc_monitor.redis.client import connect_async
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.registry import load_registry
from services.bench.inputs import simulate
from streams.processor import BatchProcessor, Record

__all__ = [
    "TEMPLATE_UNIT",
    "UNIT_KEYS",
    "clone_units",
    "key_kind",
    "memory_breakdown",
    "registry_yaml",
    "scrape_parts",
    "template_log",
    "unit_ids",
    "write_log",
]

#: Id of the simulated unit whose state is copied to the others.
TEMPLATE_UNIT: Final = "bench-u00000"
#: Key kinds of a unit's state (see ``ioc_monitor/redis/keys.py``).
UNIT_KEYS: Final = ("tot", "m", "h", "d", "mo", "mi", "hi", "di", "moi", "rc", "open")
_BATCH: Final = 2000


def unit_ids(n: int) -> list[str]:
    """Ids of a synthetic registry of ``n`` units (the template first)."""
    return [f"bench-u{i:05d}" for i in range(n)]


def registry_yaml(n: int) -> str:
    """A unit registry of ``n`` commune-level units."""
    lines = ["# Synthetic registry written by `make bench`.", "units:"]
    for i, uid in enumerate(unit_ids(n)):
        lines += [f"  - id: {uid}", f"    name: Bench unit {i}", "    level: commune"]
    return "\n".join(lines) + "\n"


def template_log(cache: Path, days: int = 400) -> Path:
    """The simulated log of the template unit (cached).

    Args:
        cache: Cache directory.
        days: Simulated days. Default 400.

    Returns:
        The JSONL file.
    """
    path = cache / f"template-{days}d.jsonl"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    reg = cache / "registry-1.yaml"
    reg.write_text(registry_yaml(1), encoding="utf-8")
    return simulate(path, "--units", str(reg), "--days", str(days))


def _partition(raw: bytes, partitions: int) -> int:
    try:
        dossier = orjson.loads(raw).get("dossier_id", "")
    except orjson.JSONDecodeError:
        dossier = ""
    return zlib.crc32(str(dossier).encode()) % partitions


async def _write(
    settings: RedisSettings, messages: Iterable[bytes], units: Path, partitions: int
) -> int:
    client = connect_async(settings)

    async def dead_letter(*_: Any) -> None:
        return None

    registry = load_registry(units)
    processor = BatchProcessor(client, settings.prefix, registry.ids, dead_letter, lambda _: None)
    offsets = [0] * partitions
    batch: list[Record] = []
    n = 0
    try:
        for raw in messages:
            p = _partition(raw, partitions)
            batch.append(Record(p, offsets[p], None, raw))
            offsets[p] += 1
            n += 1
            if len(batch) >= _BATCH:
                await processor.process(batch)
                batch = []
        if batch:
            await processor.process(batch)
    finally:
        await client.aclose()
    return n


def write_log(settings: RedisSettings, log: Path, units: Path, partitions: int = 6) -> int:
    """Write a log's state through the worker's processor, as if consumed from Kafka.

    Messages are spread over ``partitions`` by a hash of ``dossier_id`` (as keyed
    producers do) and applied in batches of 2000.

    Returns:
        Messages written.
    """
    return asyncio.run(_write(settings, iter_messages([log]), units, partitions))


def clone_units(client: Any, prefix: str, source: str, targets: Sequence[str]) -> None:
    """Copy every per-unit key of ``source`` to each target unit, in every partition.

    Args:
        client: Sync Redis client.
        prefix: Key prefix.
        source: Unit whose keys are copied.
        targets: New unit ids.
    """
    parts = sorted(int(p) for p in client.smembers(global_key(prefix, "parts")))
    for p in parts:
        tag = PartitionKeys(prefix, p).tag
        # <tag>:<kind>:<unit> and the bucket shards <tag>:<kind>:<unit>:<shard>
        present: list[tuple[str, str]] = []
        for kind in UNIT_KEYS:
            head = f"{tag}:{kind}:"
            for key in client.scan_iter(match=f"{head}{source}*", count=1000):
                suffix = key.decode()[len(head + source) :]
                if suffix == "" or suffix.startswith(":"):
                    present.append((head, suffix))
        for start in range(0, len(targets), 200):
            pipe = client.pipeline(transaction=False)
            chunk = targets[start : start + 200]
            for unit in chunk:
                for head, suffix in present:
                    pipe.copy(f"{head}{source}{suffix}", f"{head}{unit}{suffix}", replace=True)
            pipe.sadd(f"{tag}:units", *chunk)
            pipe.execute()


def key_kind(prefix: str, key: str) -> str:
    """Kind of a key of the layout: ``dos``, ``done``, ``m`` (minute buckets)... or ``global``."""
    rest = key[len(prefix) + 1 :]
    if not rest.startswith("{"):
        return "global"
    after = rest.split("}:", 1)[1] if "}:" in rest else ""
    return after.split(":", 1)[0]


def memory_breakdown(client: Any, prefix: str) -> dict[str, dict[str, int]]:
    """Bytes (``MEMORY USAGE``, all elements) and elements per key kind under a prefix.

    Returns:
        ``{kind: {"bytes": b, "keys": k, "elements": e}}``.
    """
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"bytes": 0, "keys": 0, "elements": 0})
    keys = [k.decode() for k in client.scan_iter(match=f"{prefix}:*", count=2000)]
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
            pipe.type(key)
        res = pipe.execute()
        pipe = client.pipeline(transaction=False)
        kinds = []
        for i, key in enumerate(chunk):
            typ = res[2 * i + 1].decode() if isinstance(res[2 * i + 1], bytes) else res[2 * i + 1]
            kind = key_kind(prefix, key)
            kinds.append(kind)
            entry = out[kind]
            entry["bytes"] += int(res[2 * i] or 0)
            entry["keys"] += 1
            if typ == "hash":
                pipe.hlen(key)
            elif typ == "zset":
                pipe.zcard(key)
            elif typ == "set":
                pipe.scard(key)
            else:
                pipe.exists(key)
        for kind, count in zip(kinds, pipe.execute(), strict=True):
            out[kind]["elements"] += int(count)
    return dict(out)


def scrape_parts(client: Any, prefix: str, units: Path) -> tuple[float, float]:
    """Time the two halves of a scrape in this process, at the event clock.

    Args:
        client: Sync Redis client.
        prefix: Key prefix.
        units: The unit registry file.

    Returns:
        Seconds spent in ``read_snapshot`` (Redis reads, merge, window sums) and in
        rendering the families plus prometheus-client's text exposition.
    """
    from ioc_monitor.collector import render_snapshot
    from ioc_monitor.exposition import families_text
    from ioc_monitor.redis.reader import read_snapshot

    registry = load_registry(units)
    start = time.perf_counter()
    snap = read_snapshot(client, prefix, "event")
    read = time.perf_counter() - start

    start = time.perf_counter()
    families_text(render_snapshot(snap, registry))
    return read, time.perf_counter() - start
