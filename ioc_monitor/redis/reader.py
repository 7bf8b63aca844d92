"""Read a :class:`Snapshot` from Redis at a clock (the exporter's scrape path).

Three round trips whatever the number of units: the partitions; each partition's
watermark (which fixes the event clock) and units set; then one read script
(:data:`ioc_monitor.redis.scripts.READ_LUA`) over every partition, so that a
worker's commit cannot land between two reads. The script is handed every key it
reads (:meth:`~ioc_monitor.redis.keys.PartitionKeys.read_keys` of the units read in
the second round trip); if a units set grew in between, it refuses and the read
starts over. It returns the pipeline counters and, for every unit, its totals, open
dossiers and only the buckets the clock needs (:func:`ioc_monitor.windows.shard_spans`),
already added up over the partitions (each dossier lives in exactly one partition).
On a Redis Cluster a script must stay in one hash slot, so it runs once per partition
(each partition is still read from one instant) and the partitions are added up here.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson
from redis import Redis
from redis.cluster import RedisCluster

from ioc_monitor.catalogue import DUE_SOON_WITHIN
from ioc_monitor.events import REASONS
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.redis.scripts import READ_LUA
from ioc_monitor.rules import SERIES
from ioc_monitor.snapshot import Snapshot, UnitFigures, unit_figures
from ioc_monitor.timeutil import minute_index
from ioc_monitor.windows import recent_from, shard_bounds, shard_spans, stable_until

__all__ = ["UnitRead", "clock_time", "read_snapshot", "script_clock", "unit_reads"]

_Buckets = defaultdict[int, dict[str, int]]


_SERIES_NAMES: dict[bytes, str] = {}


def _pairs(flat: list[Any]) -> Iterator[tuple[Any, Any]]:
    """``(field, value)`` pairs of a flat ``[field, value, ...]`` reply."""
    it = iter(flat)
    return zip(it, it, strict=True)


def _merge_buckets(flats: list[list[bytes]]) -> _Buckets:
    """Add up one unit's buckets of every partition, then split the fields.

    Args:
        flats: Per partition, ``[field, value, field, value, ...]`` as the read script
            returns them.

    The partitions share most ``<index>|<series>`` fields, so adding the raw fields
    first decodes each distinct field once (the scrape's hot loop).
    """
    merged: dict[bytes, int] = {}
    get = merged.get
    for flat in flats:
        for f, v in _pairs(flat):
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


@dataclass(frozen=True, slots=True)
class PipelineCounters:
    """The partitions' stats hashes added up (see :class:`~ioc_monitor.snapshot.Snapshot`)."""

    processed: int
    duplicate: int
    rejected: dict[str, int]
    watermark: float | None
    last_processed: float | None
    lag: dict[int, int]
    stalled: dict[int, int]

    def snapshot(self, clock: float | None, units: Mapping[str, UnitFigures]) -> Snapshot:
        """The snapshot of these counters with the units' figures at a clock."""
        return Snapshot(
            clock=clock,
            units=units,
            processed=self.processed,
            duplicate=self.duplicate,
            rejected=self.rejected,
            watermark=self.watermark,
            last_processed=self.last_processed,
            lag=self.lag,
            stalled=self.stalled,
        )


def _pipeline_counters(
    keys: list[PartitionKeys], stats_rows: list[dict[bytes, bytes]]
) -> PipelineCounters:
    """Add up the partitions' stats hashes."""
    stalled: dict[int, int] = {}
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
        if "stalled" in stats:
            stalled[k.partition] = int(stats["stalled"])
        if "wall" in stats:
            wall = float(stats["wall"])
            last_processed = wall if last_processed is None else max(last_processed, wall)
        if "wm" in stats:
            wm = float(stats["wm"])
            watermark = wm if watermark is None else max(watermark, wm)
    return PipelineCounters(processed, duplicate, rejected, watermark, last_processed, lag, stalled)


_SERIES_JSON: Final = orjson.dumps(list(SERIES))


def _script_args(
    k: PartitionKeys, units: list[bytes], shards: list[tuple[str, int]], checked: bool = True
) -> tuple[list[str], list[bytes | str]]:
    """One partition's part of the read script's ``KEYS`` and ``ARGV``.

    Args:
        k: The partition's keys.
        units: The units to read.
        shards: The bucket shards to read.
        checked: The script refuses when the units set no longer has ``len(units)``
            members (``units`` is the whole set); otherwise ``units`` is any list.
    """
    names = [u.decode() for u in units]
    check = str(len(units)) if checked else ""
    return [k.units, k.stats, *k.read_keys(names, shards)], [check, str(len(units)), *units]


def _run_script(
    client: Redis,
    keys: list[PartitionKeys],
    units: list[list[bytes]],
    spans: list[list[Any]],
    clock_args: list[Any],
    checked: bool = True,
) -> list[Any] | None:
    """The read script over every partition at once, or one by one on a Redis Cluster.

    Returns:
        The script's results, or ``None`` when a checked partition gained a unit since
        its units set was read.
    """
    script = client.register_script(READ_LUA)
    shards = [(s[0], s[1]) for s in spans]
    parts = [_script_args(k, u, shards, checked) for k, u in zip(keys, units, strict=True)]
    if isinstance(client, RedisCluster):
        results = [script(keys=ks, args=[*clock_args, *args]) for ks, args in parts]
    else:
        all_keys = [key for ks, _ in parts for key in ks]
        results = [
            script(keys=all_keys, args=[*clock_args, *(a for _, args in parts for a in args)])
        ]
    return None if any(r is None for r in results) else results


def clock_time(
    clock: Literal["wall", "event"], watermark: float | None, now: float | None
) -> float | None:
    """The clock T: the watermark (``event``), else ``now`` or the current time (``wall``)."""
    if clock == "event":
        return watermark
    return time.time() if now is None else now


def script_clock(t: float | None) -> tuple[list[list[Any]], list[Any]]:
    """The read script's spans and its clock arguments (ARGV 1–5) for a clock T."""
    spans = [] if t is None else [[*s, s[2:] == shard_bounds(*s[:2])] for s in shard_spans(t)]
    clock_args: list[Any] = ["", ""] if t is None else [repr(t), str((minute_index(t) + 1) * 60)]
    bounds = [] if t is None else [repr(t + float(length)) for _, length in DUE_SOON_WITHIN]
    clock_args += [orjson.dumps(spans), _SERIES_JSON, orjson.dumps(bounds)]
    return spans, clock_args


def _read_once(
    client: Redis, prefix: str, clock: Literal["wall", "event"], now: float | None
) -> tuple[list[PartitionKeys], float | None, list[Any]] | None:
    """The three round trips of :func:`read_snapshot`.

    Returns:
        The partitions' keys, the clock T and the read script's results; ``None`` when
        a units set grew between its read and the script (read again).
    """
    pipe = client.pipeline(transaction=False)
    pipe.smembers(global_key(prefix, "parts"))
    (parts_raw,) = pipe.execute()
    keys = [PartitionKeys(prefix, p) for p in sorted(int(p) for p in parts_raw)]
    for k in keys:
        pipe.hget(k.stats, "wm")
        pipe.smembers(k.units)
    replies = pipe.execute() if keys else []
    watermark: float | None = None
    for wm_raw in replies[::2]:
        if wm_raw is not None:
            watermark = float(wm_raw) if watermark is None else max(watermark, float(wm_raw))
    t = clock_time(clock, watermark, now)
    spans, clock_args = script_clock(t)
    if not keys:
        return keys, t, []
    results = _run_script(client, keys, [list(u) for u in replies[1::2]], spans, clock_args)
    return None if results is None else (keys, t, results)


@dataclass(frozen=True, slots=True)
class UnitRead:
    """One unit's figures as read at a clock, and how long they hold.

    Attributes:
        figures: The figures at the clock T of the read.
        clock: That T (``None``: the event clock before any event).
        until: The figures hold, with no new commit for the unit, for every clock in
            ``[clock, until)`` (``inf`` without a clock).
    """

    figures: UnitFigures
    clock: float | None
    until: float

    def holds_at(self, t: float | None) -> bool:
        """Whether the figures are still those of clock ``t`` (no commit since)."""
        if self.clock is None or t is None:
            return self.clock is None and t is None
        return self.clock <= t < self.until


def _until(
    t: float | None,
    watermark: float | None,
    buckets: tuple[_Buckets, _Buckets, _Buckets, _Buckets],
    next_item: bytes,
    next_dues: list[bytes],
) -> float:
    """The end of the clock range over which a unit's figures at T hold (see UnitRead)."""
    if t is None:
        return math.inf
    if watermark is not None and t < recent_from(watermark):
        return t  # items between T and the recent ones are not known: never reuse
    until = stable_until(*buckets, t, float(next_item) if next_item else None)
    if next_dues and next_dues[0]:
        until = min(until, float(next_dues[0]))  # the next dossier to become overdue
    for (_, length), due in zip(DUE_SOON_WITHIN, next_dues[1:], strict=False):
        if due:  # the next dossier to come within the bound; 1 ms early against rounding
            until = min(until, float(due) - length - 0.001)
    return max(until, t) if until > t else t


def unit_reads(results: list[Any], t: float | None, watermark: float | None) -> dict[str, UnitRead]:
    """Each unit's figures from read script results, added up over partitions.

    Args:
        results: The read script's results (one per call: all partitions, or one).
        t: The clock T of the read.
        watermark: The watermark, to tell whether T is late enough for
            :func:`ioc_monitor.windows.stable_until` to hold.

    Returns:
        ``{unit: UnitRead}`` in unit order.
    """
    rows: dict[bytes, list[list[Any]]] = defaultdict(list)
    for result in results:
        for row in result[1:]:
            rows[row[0]].append(row)
    out: dict[str, UnitRead] = {}
    for raw_unit in sorted(rows):
        totals = dict.fromkeys(SERIES, 0)
        flats: list[list[list[bytes]]] = [[], [], [], []]
        recent: list[tuple[str, float]] = []
        in_progress = overdue = 0
        soon = dict.fromkeys((w for w, _ in DUE_SOON_WITHIN), 0) if t is not None else {}
        next_item: bytes = b""
        next_dues: list[bytes] = [b""] * (len(DUE_SOON_WITHIN) + 1)
        for row in rows[raw_unit]:
            for raw_series, n in _pairs(row[1]):
                series = raw_series.decode()
                totals[series] = totals.get(series, 0) + int(n)
            for g in range(4):
                flats[g].append(row[2 + g])
            for member, score in _pairs(row[6]):
                recent.append((member.decode().partition("|")[0], float(score)))
            in_progress += int(row[7])
            overdue += int(row[8])
            for (within, _), n in zip(DUE_SOON_WITHIN, row[9], strict=False):
                soon[within] += int(n)
            next_item = _earliest(next_item, row[10])
            next_dues = [_earliest(a, b) for a, b in zip(next_dues, row[11], strict=False)]
        minute, hour, day, month = (_merge_buckets(f) for f in flats)
        figures = unit_figures(
            totals, minute, hour, day, month, recent, in_progress, overdue, t, soon
        )
        until = _until(t, watermark, (minute, hour, day, month), next_item, next_dues)
        out[raw_unit.decode()] = UnitRead(figures, t, until)
    return out


def _earliest(a: bytes, b: bytes) -> bytes:
    """The earlier of two score strings, ``b""`` meaning none."""
    if not a or (b and float(b) < float(a)):
        return b
    return a


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
    read = None
    while read is None:
        read = _read_once(client, prefix, clock, now)
    keys, t, results = read
    counters = _pipeline_counters(keys, [dict(_pairs(stats)) for r in results for stats in r[0]])
    reads = unit_reads(results, t, counters.watermark)
    return counters.snapshot(t, {u: r.figures for u, r in reads.items()})
