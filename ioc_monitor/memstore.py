"""In-memory state store for the offline calculator (``ioc kpi``).

Holds exactly what the Redis store holds, with the same retention rules, so the
same log gives the same figures. Memory grows with open dossiers, units and the
dossiers completed within the 400-day horizon (each with the 8-byte digests of its
event ids), not with the length of the log.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Mapping

from ioc_monitor.catalogue import DUE_SOON_WITHIN
from ioc_monitor.engine import DOSSIER_RETENTION_S, Delta
from ioc_monitor.events import REASONS
from ioc_monitor.rules import SERIES, DossierState
from ioc_monitor.snapshot import Snapshot, UnitFigures, unit_figures
from ioc_monitor.timeutil import hour_index
from ioc_monitor.windows import bucket_slots, cutoffs

__all__ = ["MemoryStore"]

_Buckets = defaultdict[int, Counter[str]]


def _buckets() -> _Buckets:
    return defaultdict(Counter)


class MemoryStore:
    """State of the whole log, in memory; implements :class:`ioc_monitor.engine.Lookup`."""

    def __init__(self) -> None:
        self.processed = 0
        self.duplicate = 0
        self.rejected: Counter[str] = Counter()
        self.watermark: float | None = None
        self._dossiers: dict[str, DossierState] = {}
        self._completed: list[tuple[float, str]] = []
        self._done_at: dict[str, float] = {}
        self._units: set[str] = set()
        self._totals: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._minute: defaultdict[str, _Buckets] = defaultdict(_buckets)
        self._hour: defaultdict[str, _Buckets] = defaultdict(_buckets)
        self._day: defaultdict[str, _Buckets] = defaultdict(_buckets)
        self._month: defaultdict[str, _Buckets] = defaultdict(_buckets)
        self._recent: defaultdict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
        self._open: defaultdict[str, dict[str, float]] = defaultdict(dict)
        self._pruned_at: int | None = None

    def dossier(self, dossier_id: str) -> DossierState | None:
        """Return a dossier's state (a copy is not needed: the engine owns it next)."""
        return self._dossiers.get(dossier_id)

    def apply(self, delta: Delta) -> None:
        """Apply a batch's changes, then prune what no clock ≥ the watermark needs."""
        self.processed += delta.processed
        self.duplicate += delta.duplicate
        self.rejected.update(delta.rejected)
        self.watermark = delta.watermark
        self._units.update(delta.units)
        self._dossiers.update(delta.dossiers)
        for dossier_id in delta.forgotten - delta.completed.keys():
            self._done_at.pop(dossier_id, None)  # its new life is not completed
        for dossier_id, t in delta.completed.items():
            self._done_at[dossier_id] = t
            heapq.heappush(self._completed, (t, dossier_id))
        granularities = (self._minute, self._hour, self._day, self._month)
        for item in delta.items:
            self._totals[item.unit][item.series] += 1
            for buckets, (_g, _shard, idx) in zip(granularities, bucket_slots(item.t), strict=True):
                buckets[item.unit][idx][item.series] += 1
        for item, dossier_id in delta.recent:
            self._recent[item.unit][f"{item.series}|{dossier_id}"] = (item.series, item.t)
        for dossier_id, (unit, due) in delta.open.items():
            if due is None:
                self._open[unit].pop(dossier_id, None)
            else:
                self._open[unit][dossier_id] = due
        self._prune()

    def _prune(self) -> None:
        if self.watermark is None:
            return
        hour = hour_index(self.watermark)
        while self._completed and self._completed[0][0] < self.watermark - DOSSIER_RETENTION_S:
            t, dossier_id = heapq.heappop(self._completed)
            if self._done_at.get(dossier_id) == t:  # not a newer life of the id
                del self._done_at[dossier_id]
                self._dossiers.pop(dossier_id, None)
        if self._pruned_at == hour:
            return
        self._pruned_at = hour
        cut = cutoffs(self.watermark)
        for recent in self._recent.values():
            for key in [k for k, (_, t) in recent.items() if t < cut.recent]:
                del recent[key]
        for buckets, limit in (
            (self._minute, cut.minute),
            (self._hour, cut.hour),
            (self._day, cut.day),
            (self._month, cut.month),
        ):
            for unit_buckets in buckets.values():
                for idx in [i for i in unit_buckets if i < limit]:
                    del unit_buckets[idx]

    def snapshot(self, clock: float | None) -> Snapshot:
        """Figures at clock T (seconds); ``None`` when the event clock has no watermark."""
        units: dict[str, UnitFigures] = {}
        for unit in sorted(self._units):
            totals: Mapping[str, int] = {s: self._totals[unit][s] for s in SERIES}
            dues = self._open[unit].values()
            overdue = 0 if clock is None else sum(1 for d in dues if d < clock)
            soon: dict[str, int] = {}
            if clock is not None:
                for within, length in DUE_SOON_WITHIN:
                    end = clock + float(length)
                    soon[within] = sum(1 for d in dues if clock < d <= end)
            units[unit] = unit_figures(
                totals,
                self._minute[unit],
                self._hour[unit],
                self._day[unit],
                self._month[unit],
                self._recent[unit].values(),
                len(dues),
                overdue,
                clock,
                soon,
            )
        return Snapshot(
            clock=clock,
            units=units,
            processed=self.processed,
            duplicate=self.duplicate,
            rejected={r: self.rejected[r] for r in REASONS},
            watermark=self.watermark,
            last_processed=None,
        )
