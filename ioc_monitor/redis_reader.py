"""Read a :class:`Snapshot` from Redis at a clock (the exporter's scrape path).

Three round trips whatever the number of units: the partitions; each partition's
watermark and units; then, in one MULTI/EXEC so that a worker's commit cannot land
between two reads, the pipeline counters and every unit's counts. Partitions are
merged by adding their counts (each dossier lives in exactly one partition).
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Literal

from redis import Redis

from ioc_monitor.events import REASONS
from ioc_monitor.redis_keys import PartitionKeys, global_key
from ioc_monitor.rules import SERIES
from ioc_monitor.snapshot import Snapshot, UnitFigures, unit_figures
from ioc_monitor.timeutil import minute_index

__all__ = ["read_snapshot"]

_Buckets = defaultdict[int, dict[str, int]]


def _merge_buckets(target: _Buckets, raw: dict[bytes, bytes]) -> None:
    for field, value in raw.items():
        idx, _, series = field.decode().partition("|")
        counts = target[int(idx)]
        counts[series] = counts.get(series, 0) + int(value)


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
    per_unit = 7
    # One MULTI/EXEC: the counts of every unit, and the pipeline counters, from the
    # same instant (a worker's commit cannot land between two of these reads).
    tx = client.pipeline(transaction=True)
    for k in keys:
        tx.hgetall(k.stats)
    for unit in order:
        for k in unit_parts[unit]:
            tx.hgetall(k.totals(unit))
            tx.hgetall(k.buckets(unit, "m"))
            tx.hgetall(k.buckets(unit, "h"))
            tx.hgetall(k.buckets(unit, "d"))
            if t is None:
                tx.zrange(k.recent(unit), 0, 0, withscores=True)
                tx.zcard(k.open(unit))
                tx.zcard(k.open(unit))
            else:
                m_end = (minute_index(t) + 1) * 60
                tx.zrange(k.recent(unit), f"({t!r}", f"({m_end}", byscore=True, withscores=True)
                tx.zcard(k.open(unit))
                tx.zcount(k.open(unit), "-inf", f"({t!r}")
    res = tx.execute()
    processed, duplicate, rejected, watermark, last_processed, lag = _pipeline_counters(
        keys, res[: len(keys)]
    )
    res = res[len(keys) :]
    units: dict[str, UnitFigures] = {}
    pos = 0
    for unit in order:
        totals = dict.fromkeys(SERIES, 0)
        minute: _Buckets = defaultdict(dict)
        hour: _Buckets = defaultdict(dict)
        day: _Buckets = defaultdict(dict)
        recent: list[tuple[str, float]] = []
        in_progress = overdue = 0
        for _ in unit_parts[unit]:
            tot, m, h, d, rc, card, over = res[pos : pos + per_unit]
            pos += per_unit
            for f, v in tot.items():
                totals[f.decode()] = totals.get(f.decode(), 0) + int(v)
            _merge_buckets(minute, m)
            _merge_buckets(hour, h)
            _merge_buckets(day, d)
            if t is not None:
                recent.extend((member.decode().partition("|")[0], score) for member, score in rc)
                overdue += int(over)
            in_progress += int(card)
        units[unit] = unit_figures(totals, minute, hour, day, recent, in_progress, overdue, t)
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
