"""The exporter's incremental read: only the units that changed or whose figures expired.

A full read (:func:`ioc_monitor.redis.reader.read_snapshot`) costs Redis and Python time
in proportion to the number of units; at national size (3,321 units) it takes seconds.
:class:`CachedReader` keeps each unit's figures with the clock range over which they
hold (:class:`~ioc_monitor.redis.reader.UnitRead`) and, at each scrape:

1. reads every partition's stats hash and, from its change log ``T:chg`` (unit →
   sequence number of the last commit that changed it, written by the commit script),
   the units changed since the sequence number seen at the previous scrape;
2. fixes the clock T;
3. re-reads, in chunks of :data:`CHUNK` units per read script, the units that changed,
   that are new, or whose figures do not hold at T (a sliding window loses its oldest
   item, a later item enters, the local day ends, a dossier becomes overdue or due
   soon; see :func:`ioc_monitor.windows.stable_until`);
4. returns a :class:`~ioc_monitor.snapshot.Snapshot` of every unit, the others from the
   cache (the same :class:`~ioc_monitor.snapshot.UnitFigures` objects, so a renderer
   can cache their text by identity).

At rest this equals a fresh full read at every clock, and it is tested to (the
figures of a unit depend only on its own keys and the clock). While commits land during
a scrape, each unit's figures are those of an instant within the scrape, as by a full
read the figures are those of one instant. A partition whose ``epoch`` changed (its
state was deleted and rebuilt, e.g. by ``ioc recover``) or that has none (state written
without a change log) empties the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from redis import Redis

from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.redis.reader import (
    UnitRead,
    _pipeline_counters,
    _run_script,
    clock_time,
    script_clock,
    unit_reads,
)
from ioc_monitor.snapshot import Snapshot

__all__ = ["CHUNK", "CachedReader", "ReadStats"]

#: Units per read script when re-reading: keeps each script short (tens of ms) so the
#: worker's commits interleave.
CHUNK: Final = 200


@dataclass(slots=True)
class ReadStats:
    """What the last :meth:`CachedReader.snapshot` did.

    Attributes:
        units: Units in the snapshot.
        reread: Units read from Redis (changed, new or expired).
        scripts: Read scripts run.
        full: The cache was emptied first (first read, or a partition's epoch changed).
    """

    units: int = 0
    reread: int = 0
    scripts: int = 0
    full: bool = False


@dataclass(slots=True)
class _Partition:
    epoch: bytes | None
    seq: int


@dataclass
class CachedReader:
    """Incremental reader of one prefix (see the module docstring); thread-safe.

    Args:
        client: Sync Redis client (bytes responses).
        prefix: Key prefix (``IOC_REDIS_PREFIX``).
        clock: ``wall`` or ``event``.
        only: Read only these units (an exporter shard's), or every unit when ``None``.
    """

    client: Redis
    prefix: str
    clock: Literal["wall", "event"]
    only: frozenset[str] | None = None
    last: ReadStats = field(default_factory=ReadStats)
    _units: dict[str, UnitRead] = field(default_factory=dict)
    _parts: dict[int, _Partition] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self, now: float | None = None) -> Snapshot:
        """Every figure at the clock, reading only what changed or expired.

        Args:
            now: Wall-clock override in seconds (``wall`` clock).

        Raises:
            redis.exceptions.RedisError: Redis is unreachable or failed.
        """
        with self._lock:
            return self._snapshot(now)

    def _snapshot(self, now: float | None) -> Snapshot:
        stats = ReadStats()
        pipe = self.client.pipeline(transaction=False)
        pipe.smembers(global_key(self.prefix, "parts"))
        (parts_raw,) = pipe.execute()
        keys = [PartitionKeys(self.prefix, p) for p in sorted(int(p) for p in parts_raw)]
        for k in keys:
            known = self._parts.get(k.partition)
            pipe.hgetall(k.stats)
            pipe.zrangebyscore(k.changes, f"({known.seq}" if known else "-inf", "+inf")
        replies = pipe.execute() if keys else []
        rows: list[dict[bytes, bytes]] = replies[::2]
        seen = {
            k.partition: _Partition(row.get(b"epoch"), int(row.get(b"seq", 0)))
            for k, row in zip(keys, rows, strict=True)
        }
        rebuild = not self._parts or any(
            part.epoch is None or (k in self._parts and self._parts[k].epoch != part.epoch)
            for k, part in seen.items()
        )
        rebuild = rebuild or not self._parts.keys() <= seen.keys()  # a partition went away
        if rebuild:  # first read, state rebuilt, or no change log: from the units sets
            self._units.clear()
            stats.full = True
            changed = self._all_units(keys)
        else:
            changed = {u.decode() for units in replies[1::2] for u in units}
        counters = _pipeline_counters(keys, rows)
        watermark = counters.watermark
        t = clock_time(self.clock, watermark, now)
        if self.only is not None:
            changed &= self.only
        dirty = changed | {u for u, r in self._units.items() if not r.holds_at(t)}
        self._reread(keys, sorted(dirty), t, watermark, stats)
        # without a change log (no epoch) read everything again next time
        self._parts = {} if any(p.epoch is None for p in seen.values()) else seen
        stats.units = len(self._units)
        self.last = stats
        return counters.snapshot(t, {u: self._units[u].figures for u in sorted(self._units)})

    def _all_units(self, keys: list[PartitionKeys]) -> set[str]:
        """Every unit of every partition's units set."""
        pipe = self.client.pipeline(transaction=False)
        for k in keys:
            pipe.smembers(k.units)
        found: Iterable[set[bytes]] = pipe.execute() if keys else []
        return {u.decode() for units in found for u in units}

    def _reread(
        self,
        keys: list[PartitionKeys],
        units: list[str],
        t: float | None,
        watermark: float | None,
        stats: ReadStats,
    ) -> None:
        """Read ``units`` from every partition, :data:`CHUNK` units per script."""
        if not units or not keys:
            return
        spans, clock_args = script_clock(t)
        for start in range(0, len(units), CHUNK):
            chunk = [u.encode() for u in units[start : start + CHUNK]]
            results = _run_script(
                self.client, keys, [chunk] * len(keys), spans, clock_args, checked=False
            )
            assert results is not None  # unchecked reads never refuse
            stats.scripts += len(results)
            self._units.update(unit_reads(results, t, watermark))
        stats.reread += len(units)
