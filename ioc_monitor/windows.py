"""Event-time windows over count buckets (KPIS.md "Windows"), pure.

Counts are kept in three bucket granularities per unit and series:

- minute buckets (index = floor(t / 60 s)) for ``1h``, ``24h`` and ``today``;
- hour buckets (index = floor(t / 3600 s)) for ``7d`` and ``30d``;
- local-day buckets (see :func:`ioc_monitor.timeutil.day_index`) for ``month``,
  ``quarter`` and ``year``.

Calendar windows hold t ≤ T exactly: items in the clock's own minute that lie after
T are known individually ("recent" items, kept at full precision while their time is
no more than :data:`RECENT_MARGIN_S` before the watermark's minute) and subtracted.
This is exact for the ``event`` clock and for a ``wall`` clock up to one hour behind
the watermark (event times up to an hour in the future, e.g. producer clock skew).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Final, NamedTuple

from ioc_monitor.timeutil import day_index, day_of, hour_index, minute_index

__all__ = [
    "RECENT_MARGIN_S",
    "WINDOWS",
    "Cutoffs",
    "compute_windows",
    "cutoffs",
    "recent_from",
]

#: Window label values, in exposition order.
WINDOWS: Final = ("1h", "24h", "7d", "30d", "today", "month", "quarter", "year")

#: Recent items are kept from this many seconds before the watermark's minute (1 h).
RECENT_MARGIN_S: Final = 3600

_MINUTES_1H: Final = 60
_MINUTES_24H: Final = 1440
_HOURS_7D: Final = 168
_HOURS_30D: Final = 720

Buckets = Mapping[int, Mapping[str, int]]


class Cutoffs(NamedTuple):
    """Oldest bucket (inclusive) still needed at any clock T ≥ a watermark W.

    Attributes:
        minute: Minute buckets below this index can be dropped.
        hour: Hour buckets below this index can be dropped.
        day: Day buckets below this index can be dropped.
        recent: Recent items with t below this (seconds) can be dropped.
    """

    minute: int
    hour: int
    day: int
    recent: float


def cutoffs(watermark: float) -> Cutoffs:
    """Retention limits for a watermark, with a safety margin.

    Args:
        watermark: Largest ``occurred_at`` seen (seconds since the epoch).

    Returns:
        Minute buckets are kept for 25 h, hour buckets for 31 days, day buckets
        for 400 days and recent items from an hour before the watermark's minute.
    """
    m = minute_index(watermark)
    return Cutoffs(
        minute=m - _MINUTES_24H - 120,
        hour=hour_index(watermark) - _HOURS_30D - 24,
        day=day_index(watermark) - 400,
        recent=recent_from(watermark),
    )


def recent_from(watermark: float) -> float:
    """Earliest time (seconds) of an item kept individually, for a watermark."""
    return float(minute_index(watermark) * 60 - RECENT_MARGIN_S)


def _add(target: dict[str, int], counts: Mapping[str, int]) -> None:
    for series, n in counts.items():
        target[series] = target.get(series, 0) + n


def compute_windows(
    minute: Buckets,
    hour: Buckets,
    day: Buckets,
    recent: Iterable[tuple[str, float]],
    clock: float,
) -> dict[str, dict[str, int]]:
    """Count every series in every window at a clock.

    Args:
        minute: Minute buckets ``{index: {series: count}}``.
        hour: Hour buckets.
        day: Local-day buckets.
        recent: ``(series, t)`` of items whose time is at or after the
            watermark's minute (a superset of those in the clock's minute is fine).
        clock: T, seconds since the epoch.

    Returns:
        ``{window: {series: count}}``; series with a zero count are left out.
    """
    out: dict[str, dict[str, int]] = {w: {} for w in WINDOWS}
    m_t = minute_index(clock)
    h_t = hour_index(clock)
    d_t = day_index(clock)
    today = out["today"]
    for idx, counts in minute.items():
        if idx > m_t:
            continue
        if idx > m_t - _MINUTES_1H:
            _add(out["1h"], counts)
        if idx > m_t - _MINUTES_24H:
            _add(out["24h"], counts)
        if day_index(idx * 60.0) == d_t:
            _add(today, counts)
    for series, t in recent:
        if t > clock and minute_index(t) == m_t:
            today[series] = today.get(series, 0) - 1
    for idx, counts in hour.items():
        if h_t - _HOURS_30D < idx <= h_t:
            _add(out["30d"], counts)
            if idx > h_t - _HOURS_7D:
                _add(out["7d"], counts)
    d = day_of(d_t)
    month_start = d_t - (d.day - 1)
    quarter_start = d_t - (d - date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)).days
    year_start = d_t - (d.timetuple().tm_yday - 1)
    for idx, counts in day.items():
        if year_start <= idx < d_t:
            _add(out["year"], counts)
            if idx >= quarter_start:
                _add(out["quarter"], counts)
                if idx >= month_start:
                    _add(out["month"], counts)
    for window in ("month", "quarter", "year"):
        _add(out[window], today)
    return {w: {s: n for s, n in c.items() if n} for w, c in out.items()}
