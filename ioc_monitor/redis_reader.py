"""Read a :class:`Snapshot` from Redis at a clock (the exporter's scrape path).

Three round trips whatever the number of units: the partitions; each partition's
watermark and units; then, in one MULTI/EXEC so that a worker's commit cannot land
between two reads, the pipeline counters and every unit's counts. Of the bucket
shards only those the clock needs are read (:func:`ioc_monitor.windows.shards_needed`):
at most 11 per unit and partition, whatever the length of the history. Partitions are
merged by adding their counts (each dossier lives in exactly one partition). On a
Redis Cluster a transaction must stay in one hash slot, so the last step is one
MULTI/EXEC per partition (a commit is atomic per partition, so each partition's
figures are still read from one instant).
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Literal

from redis import Redis
from redis.cluster import RedisCluster

from ioc_monitor.events import REASONS
from ioc_monitor.redis_keys import PartitionKeys, global_key
from ioc_monitor.rules import SERIES
from ioc_monitor.snapshot import Snapshot, UnitFigures, unit_figures
from ioc_monitor.timeutil import minute_index
from ioc_monitor.windows import GRANULARITIES, shards_needed

__all__ = ["read_snapshot"]

_Buckets = defaultdict[int, dict[str, int]]


_SERIES_NAMES: dict[bytes, str] = {}


def _merge_buckets(raws: list[dict[bytes, bytes]]) -> _Buckets:
    """Add up one unit's bucket shards of every partition, then split the fields.

    The partitions share most ``<index>|<series>`` fields, so adding the raw fields
    first decodes each distinct field once (the scrape's hot loop).
    """
    if len(raws) == 1:
        merged = {f: int(v) for f, v in raws[0].items()}
    else:
        merged = {}
        get = merged.get
        for raw in raws:
            for f, v in raw.items():
                merged[f] = get(f, 0) + int(v)
    target: _Buckets = defaultdict(dict)
    names = _SERIES_NAMES
    for f, n in merged.items():
        idx, _, raw_series = f.partition(b"|")
        series = names.get(raw_series)
        if series is None:
            series = names[raw_series] = raw_series.decode()
        target[int(idx)][series] = n
    return target


def _pipeline_counters(
    keys: list[PartitionKeys], stats_rows: list[dict[bytes, bytes]]
) -> tuple[int, int, dict[str, int], float | None, float | None, dict[int, int]]:
    """Add up the partitions' stats hashes."""
    processed = duplicate = 0
    rejected = dict.fromkeys(REASONS, 0)
    watermark: float | None = None
    last_processed: float | None = None
    lag: dict[int, int] = {}
    for k, row in zip(keys, stats_rows, strict=True):
        stats = {f.decode(): v for f, v in row.items()}
        processed += int(stats.get("processed", 0))
        duplicate += int(stats.get("duplicate", 0))
        for r in REASONS:
            rejected[r] += int(stats.get(f"rej:{r}", 0))
        if "lag" in stats:
            lag[k.partition] = int(stats["lag"])
        if "wall" in stats:
            wall = float(stats["wall"])
            last_processed = wall if last_processed is None else max(last_processed, wall)
        if "wm" in stats:
            wm = float(stats["wm"])
            watermark = wm if watermark is None else max(watermark, wm)
    return processed, duplicate, rejected, watermark, last_processed, lag


class _Transactions:
    """Commands queued in one MULTI/EXEC, or one per partition on a Redis Cluster."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._per_partition = isinstance(client, RedisCluster)
        self._pipes: dict[int, Any] = {}
        self._where: list[tuple[int, int]] = []

    def on(self, keys: PartitionKeys) -> Any:
        """The pipeline for one command on a key of ``keys``' partition."""
        slot = keys.partition if self._per_partition else -1
        pipe = self._pipes.get(slot)
        if pipe is None:
            pipe = self._pipes[slot] = self._client.pipeline(transaction=True)
        self._where.append((slot, len(pipe)))
        return pipe

    def execute(self) -> list[Any]:
        """Run the transactions; results in the order the commands were queued."""
        results = {slot: pipe.execute() for slot, pipe in self._pipes.items()}
        return [results[slot][i] for slot, i in self._where]


def read_snapshot(
    client: Redis,
    prefix: str,
    clock: Literal["wall", "event"],
    now: float | None = None,
) -> Snapshot:
    """Read every figure at the chosen clock.

    Args:
        client: Sync Redis client (bytes responses).
        prefix: Key prefix (``IOC_REDIS_PREFIX``).
        clock: ``wall`` (``now``, default the current time) or ``event`` (watermark).
        now: Wall-clock override in seconds.

    Returns:
        The snapshot; ``clock`` is ``None`` for the event clock before any event.

    Raises:
        redis.exceptions.RedisError: Redis is unreachable or failed.
    """
    pipe = client.pipeline(transaction=False)
    pipe.smembers(global_key(prefix, "parts"))
    (parts_raw,) = pipe.execute()
    parts = sorted(int(p) for p in parts_raw)
    keys = [PartitionKeys(prefix, p) for p in parts]
    for k in keys:
        pipe.hget(k.stats, "wm")
        pipe.smembers(k.units)
    res = pipe.execute()
    watermark: float | None = None
    unit_parts: dict[str, list[PartitionKeys]] = defaultdict(list)
    for i, k in enumerate(keys):
        wm_raw = res[2 * i]
        if wm_raw is not None:
            watermark = float(wm_raw) if watermark is None else max(watermark, float(wm_raw))
        for unit in res[2 * i + 1]:
            unit_parts[unit.decode()].append(k)
    t: float | None
    if clock == "event":
        t = watermark
    else:
        t = time.time() if now is None else now
    order = sorted(unit_parts)
    need = {g: () for g in GRANULARITIES} if t is None else shards_needed(t)
    shard_list = [(g, shard) for g in GRANULARITIES for shard in need[g]]
    per_unit = 4 + len(shard_list)
    # One MULTI/EXEC: the counts of every unit, and the pipeline counters, from the
    # same instant (a worker's commit cannot land between two of these reads).
    tx = _Transactions(client)
    for k in keys:
        tx.on(k).hgetall(k.stats)
    for unit in order:
        for k in unit_parts[unit]:
            tx.on(k).hgetall(k.totals(unit))
            for g, shard in shard_list:
                tx.on(k).hgetall(k.buckets(unit, g, shard))
            if t is None:
                tx.on(k).zrange(k.recent(unit), 0, 0, withscores=True)
                tx.on(k).zcard(k.open(unit))
                tx.on(k).zcard(k.open(unit))
            else:
                m_end = (minute_index(t) + 1) * 60
                tx.on(k).zrange(
                    k.recent(unit), f"({t!r}", f"({m_end}", byscore=True, withscores=True
                )
                tx.on(k).zcard(k.open(unit))
                tx.on(k).zcount(k.open(unit), "-inf", f"({t!r}")
    res = tx.execute() if keys else []
    processed, duplicate, rejected, watermark, last_processed, lag = _pipeline_counters(
        keys, res[: len(keys)]
    )
    res = res[len(keys) :]
    units: dict[str, UnitFigures] = {}
    pos = 0
    for unit in order:
        totals = dict.fromkeys(SERIES, 0)
        raws: dict[str, list[dict[bytes, bytes]]] = {g: [] for g in GRANULARITIES}
        recent: list[tuple[str, float]] = []
        in_progress = overdue = 0
        for _ in unit_parts[unit]:
            tot = res[pos]
            for (g, _shard), raw in zip(shard_list, res[pos + 1 : pos + per_unit - 3], strict=True):
                if raw:
                    raws[g].append(raw)
            rc, card, over = res[pos + per_unit - 3 : pos + per_unit]
            pos += per_unit
            for f, v in tot.items():
                totals[f.decode()] = totals.get(f.decode(), 0) + int(v)
            if t is not None:
                recent.extend((member.decode().partition("|")[0], score) for member, score in rc)
                overdue += int(over)
            in_progress += int(card)
        minute, hour, day, month = (_merge_buckets(raws[g]) for g in GRANULARITIES)
        units[unit] = unit_figures(
            totals, minute, hour, day, month, recent, in_progress, overdue, t
        )
    return Snapshot(
        clock=t,
        units=units,
        processed=processed,
        duplicate=duplicate,
        rejected=rejected,
        watermark=watermark,
        last_processed=last_processed,
        lag=lag,
    )
