"""The figures the exporter serves at one clock, independent of where they came from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ioc_monitor.windows import compute_windows

__all__ = ["Snapshot", "UnitFigures", "unit_figures"]


@dataclass(frozen=True, slots=True)
class UnitFigures:
    """All figures of one unit at a clock.

    Attributes:
        totals: All-time count per series (see :data:`ioc_monitor.rules.SERIES`).
        in_progress: Dossiers received and not completed.
        overdue: Of those, dossiers whose due time is before the clock.
        windows: ``{window: {series: count}}``, zero counts left out.
        due_soon: ``{within: n}`` for each ``within`` of
            :data:`~ioc_monitor.catalogue.DUE_SOON_WITHIN`: dossiers in progress due in
            (T, T + within] (empty without a clock).
    """

    totals: Mapping[str, int]
    in_progress: int
    overdue: int
    windows: Mapping[str, Mapping[str, int]]
    due_soon: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything exposed at one scrape.

    Attributes:
        clock: T, seconds since the epoch (``None`` when the event clock has no
            watermark yet).
        units: Figures of each unit that has seen an accepted event.
        processed: Accepted, non-duplicate messages.
        duplicate: Messages whose ``event_id`` was already accepted.
        rejected: Rejected messages per reason.
        watermark: Largest ``occurred_at`` accepted, if any.
        last_processed: Wall time (seconds) of the last processed message, if known.
        lag: Consumer lag in messages per partition, when known (stream only).
        stalled: Offset at which the worker paused each partition it cannot decode a
            batch of (stream only; partitions that are not stalled are left out).
    """

    clock: float | None
    units: Mapping[str, UnitFigures]
    processed: int
    duplicate: int
    rejected: Mapping[str, int]
    watermark: float | None
    last_processed: float | None
    lag: Mapping[int, int] = field(default_factory=dict)
    stalled: Mapping[int, int] = field(default_factory=dict)


def unit_figures(
    totals: Mapping[str, int],
    minute: Mapping[int, Mapping[str, int]],
    hour: Mapping[int, Mapping[str, int]],
    day: Mapping[int, Mapping[str, int]],
    month: Mapping[int, Mapping[str, int]],
    recent: Iterable[tuple[str, float]],
    in_progress: int,
    overdue: int,
    clock: float | None,
    due_soon: Mapping[str, int] | None = None,
) -> UnitFigures:
    """Build one unit's figures from its raw counts.

    Args:
        totals: All-time counts per series.
        minute: Minute buckets (see :mod:`ioc_monitor.windows`); any superset of the
            shards the clock needs.
        hour: Hour buckets.
        day: Local-day buckets.
        month: Local-month buckets.
        recent: ``(series, t)`` items at or after the watermark's minute.
        in_progress: Dossiers in progress.
        overdue: Dossiers in progress whose due time is before the clock.
        clock: T in seconds; ``None`` leaves windows empty.
        due_soon: Dossiers in progress due soon, per ``within`` (default none).

    Returns:
        The unit's figures.
    """
    windows = {} if clock is None else compute_windows(minute, hour, day, month, recent, clock)
    return UnitFigures(dict(totals), in_progress, overdue, windows, dict(due_soon or {}))
