"""Event-time windows over count buckets (KPIS.md "Windows"), pure.

Counts are kept per unit and series in four bucket granularities, each stored in
shards so that a reader fetches only the shards a clock needs:

=====  ==================================  ===============================
``g``  bucket index                        shard (see :func:`bucket_slots`)
=====  ==================================  ===============================
``m``  minute, floor(t / 60 s)             its hour
``h``  hour, floor(t / 3600 s)             its local day
``d``  local day (:func:`day_index`)       its local month
``mo`` local month, ``year * 12 + m - 1``  its year
=====  ==================================  ===============================

A window is added up hierarchically: whole hours, days and months come from the
coarser buckets and only the partial periods at its edges from the finer ones (a
local day starts on a whole UTC hour, since UTC+7 has no minutes). At any clock T
that is at most 3 minute, 4 hour, 3 day and 1 month shard (:func:`shard_spans`),
whatever the length of the history.

Calendar windows hold t ≤ T exactly: items in the clock's own minute that lie after
T are known individually ("recent" items, kept at full precision while their time is
no more than :data:`RECENT_MARGIN_S` before the watermark's minute) and subtracted.
This is exact for the ``event`` clock and for a ``wall`` clock up to one hour behind
the watermark (event times up to an hour in the future, e.g. producer clock skew).

:func:`stable_until` tells how long the windows computed at T stay the same as the
clock moves on with no new item: until the oldest counted bucket of a sliding window
leaves it, an item later than T enters, or the local day ends. A cache of computed
windows (the exporter's) is exact while the clock is below that time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Final, NamedTuple

from ioc_monitor.timeutil import (
    day_index,
    day_of,
    hour_index,
    minute_index,
    month_first_day,
    month_of_day,
)

__all__ = [
    "GRANULARITIES",
    "PRUNE_EVERY_H",
    "RECENT_MARGIN_S",
    "WINDOWS",
    "Cutoffs",
    "bucket_slots",
    "compute_windows",
    "cutoffs",
    "minute_slots",
    "prune_plan",
    "recent_from",
    "shard_bounds",
    "shard_cutoffs",
    "shard_spans",
    "stable_until",
]

#: Window label values, in exposition order.
WINDOWS: Final = ("1h", "24h", "7d", "30d", "today", "month", "quarter", "year")

#: Bucket granularities: minute, hour, local day, local month.
GRANULARITIES: Final = ("m", "h", "d", "mo")

#: Recent items are kept from this many seconds before the watermark's minute (1 h).
RECENT_MARGIN_S: Final = 3600

_MINUTES_24H: Final = 1440
_HOURS_7D: Final = 168
_HOURS_30D: Final = 720
_LOCAL_OFFSET_H: Final = 7  # UTC+7: local day d starts at UTC hour 24 d - 7

Buckets = Mapping[int, Mapping[str, int]]
#: ``(granularity, first index, last index)``, both ends included; empty if first > last.
_Range = tuple[str, int, int]


class Cutoffs(NamedTuple):
    """Oldest bucket (inclusive) still needed at any clock T ≥ a watermark W.

    Attributes:
        minute: Minute buckets below this index can be dropped.
        hour: Hour buckets below this index can be dropped.
        day: Day buckets below this index can be dropped.
        month: Month buckets below this index can be dropped.
        recent: Recent items with t below this (seconds) can be dropped.
    """

    minute: int
    hour: int
    day: int
    month: int
    recent: float


def cutoffs(watermark: float) -> Cutoffs:
    """Retention limits for a watermark, with a safety margin.

    Args:
        watermark: Largest ``occurred_at`` seen (seconds since the epoch).

    Returns:
        Minute buckets are kept for 26 h, hour buckets for 31 days, day buckets for
        400 days, month buckets from the month 400 days back, and recent items from
        an hour before the watermark's minute.
    """
    m = minute_index(watermark)
    day = day_index(watermark) - 400
    return Cutoffs(
        minute=m - _MINUTES_24H - 120,
        hour=hour_index(watermark) - _HOURS_30D - 24,
        day=day,
        month=month_of_day(day),
        recent=recent_from(watermark),
    )


def shard_cutoffs(cut: Cutoffs) -> dict[str, int]:
    """Shards wholly below the cutoffs: ``{granularity: first shard kept}``."""
    return {
        "m": cut.minute // 60,
        "h": day_index(cut.hour * 3600.0),
        "d": month_of_day(cut.day),
        "mo": cut.month // 12,
    }


#: Watermark hours between two prunes of the minute shards and the recent items (6 h):
#: retention then keeps up to 32 h of minute shards and 7 h of recent items.
PRUNE_EVERY_H: Final = 6


def prune_plan(watermark: float, previous: float | None) -> tuple[str, ...]:
    """The granularities whose stored shards a batch prunes, in :data:`GRANULARITIES` order.

    A batch that moves the watermark from ``previous`` to ``watermark`` prunes:

    ======  ==========================================================
    ``m``   when the watermark enters a new :data:`PRUNE_EVERY_H`-hour
            slot (UTC hours since the epoch // 6)
    ``h``   when the first kept hour shard (:func:`shard_cutoffs`) moved
    ``d``   when the first kept day shard moved
    ``mo``  when the first kept month shard moved
    ======  ==========================================================

    and all four on the first batch (``previous`` is ``None``). Any prune also trims
    the recent items and forgets the dossiers past retention. Pruning never changes an
    answer: the readers never look below the cutoffs.

    Args:
        watermark: Watermark after the batch (seconds).
        previous: Watermark before it (``None``: nothing accepted yet).

    Returns:
        The granularities (empty: no prune due).
    """
    if previous is None:
        return GRANULARITIES
    now, before = shard_cutoffs(cutoffs(watermark)), shard_cutoffs(cutoffs(previous))
    slot_moved = hour_index(watermark) // PRUNE_EVERY_H != hour_index(previous) // PRUNE_EVERY_H
    return tuple(g for g in GRANULARITIES if (slot_moved if g == "m" else now[g] != before[g]))


def recent_from(watermark: float) -> float:
    """Earliest time (seconds) of an item kept individually, for a watermark."""
    return float(minute_index(watermark) * 60 - RECENT_MARGIN_S)


def bucket_slots(t: float) -> tuple[tuple[str, int, int], ...]:
    """Where an item at time ``t`` is counted: ``(granularity, shard, bucket index)``.

    Args:
        t: Seconds since the epoch.

    Returns:
        One slot per granularity, in :data:`GRANULARITIES` order (the same for every
        ``t`` of one minute: computed once per minute).
    """
    return minute_slots(minute_index(t))


@lru_cache(maxsize=65536)
def minute_slots(minute: int) -> tuple[tuple[str, int, int], ...]:
    """:func:`bucket_slots` of every time in a minute (minutes since the epoch).

    The same for the whole minute: a local day starts on a whole UTC hour.
    """
    t = minute * 60
    h = hour_index(t)
    d = day_index(t)
    mo = month_of_day(d)
    return (("m", h, minute), ("h", d, h), ("d", mo, d), ("mo", mo // 12, mo))


def _day_start_hour(day: int) -> int:
    return 24 * day - _LOCAL_OFFSET_H


class _Plan(NamedTuple):
    """The bucket ranges that make up each window at one clock minute."""

    minute: int
    today: tuple[_Range, ...]
    others: dict[str, tuple[_Range, ...]]  # "month", "quarter", "year" exclude today
    spans: tuple[tuple[str, int, int, int], ...]


def shard_bounds(g: str, shard: int) -> tuple[int, int]:
    """First and last bucket index of a shard."""
    if g == "m":
        return 60 * shard, 60 * shard + 59
    if g == "h":
        return _day_start_hour(shard), _day_start_hour(shard + 1) - 1
    if g == "d":
        return month_first_day(shard), month_first_day(shard + 1) - 1
    return 12 * shard, 12 * shard + 11


def _shard_of(g: str, idx: int) -> int:
    if g == "m":
        return idx // 60
    if g == "h":
        return day_index(idx * 3600.0)
    if g == "d":
        return month_of_day(idx)
    return idx // 12


def _spans(ranges: list[_Range]) -> tuple[tuple[str, int, int, int], ...]:
    """``(granularity, shard, first, last)``: the bucket indexes needed in each shard."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for g, lo, hi in ranges:
        if lo > hi:
            continue
        for shard in range(_shard_of(g, lo), _shard_of(g, hi) + 1):
            first, last = shard_bounds(g, shard)
            a, b = max(lo, first), min(hi, last)
            if (g, shard) in spans:
                a0, b0 = spans[(g, shard)]
                a, b = min(a, a0), max(b, b0)
            spans[(g, shard)] = (a, b)
    return tuple(
        (g, shard, a, b)
        for g in GRANULARITIES
        for (g2, shard), (a, b) in sorted(spans.items())
        if g2 == g
    )


@lru_cache(maxsize=64)
def _plan(m_t: int) -> _Plan:
    h_t = m_t // 60
    d_t = day_index(m_t * 60.0)
    today_hour = _day_start_hour(d_t)
    this_hour: _Range = ("m", 60 * h_t, m_t)
    today = (("h", today_hour, h_t - 1), this_hour)
    first = m_t - _MINUTES_24H + 1
    h0 = first // 60
    others: dict[str, tuple[_Range, ...]] = {
        "1h": (("m", m_t - 59, m_t),),
        "24h": (("m", first, 60 * h0 + 59), ("h", h0 + 1, h_t - 1), this_hour),
    }
    for window, span in (("7d", _HOURS_7D), ("30d", _HOURS_30D)):
        start = h_t - span + 1
        d0 = day_index(start * 3600.0)
        others[window] = (
            ("h", start, _day_start_hour(d0 + 1) - 1),
            ("d", d0 + 1, d_t - 1),
            ("h", today_hour, h_t),
        )
    d = day_of(d_t)
    month = d.year * 12 + d.month - 1
    days: _Range = ("d", d_t - (d.day - 1), d_t - 1)
    others["month"] = (days,)
    others["quarter"] = (("mo", d.year * 12 + 3 * ((d.month - 1) // 3), month - 1), days)
    others["year"] = (("mo", d.year * 12, month - 1), days)
    every = [r for rs in others.values() for r in rs] + list(today)
    return _Plan(m_t, today, others, _spans(every))


def shard_spans(clock: float) -> tuple[tuple[str, int, int, int], ...]:
    """The buckets :func:`compute_windows` reads at a clock, shard by shard.

    Args:
        clock: T, seconds since the epoch.

    Returns:
        ``(granularity, shard, first index, last index)`` in :data:`GRANULARITIES`
        order; at most 3 minute, 4 hour, 3 day and 1 month shard.
    """
    return _plan(minute_index(clock)).spans


def _add(target: dict[str, int], counts: Mapping[str, int]) -> None:
    for series, n in counts.items():
        target[series] = target.get(series, 0) + n


def compute_windows(
    minute: Buckets,
    hour: Buckets,
    day: Buckets,
    month: Buckets,
    recent: Iterable[tuple[str, float]],
    clock: float,
) -> dict[str, dict[str, int]]:
    """Count every series in every window at a clock.

    The bucket mappings may hold any superset of the shards of
    :func:`shard_spans` (a whole history works too); other buckets are ignored.

    Args:
        minute: Minute buckets ``{index: {series: count}}``.
        hour: Hour buckets.
        day: Local-day buckets.
        month: Local-month buckets.
        recent: ``(series, t)`` of items whose time is at or after the
            watermark's minute (a superset of those in the clock's minute is fine).
        clock: T, seconds since the epoch.

    Returns:
        ``{window: {series: count}}``; series with a zero count are left out.
    """
    plan = _plan(minute_index(clock))
    by_g: dict[str, Buckets] = {"m": minute, "h": hour, "d": day, "mo": month}
    sums: dict[_Range, dict[str, int]] = {}

    def total(ranges: tuple[_Range, ...], target: dict[str, int]) -> dict[str, int]:
        for r in ranges:
            part = sums.get(r)
            if part is None:
                part = sums[r] = {}
                g, lo, hi = r
                buckets = by_g[g]
                if hi - lo + 1 < len(buckets):
                    get = buckets.get
                    for idx in range(lo, hi + 1):
                        counts = get(idx)
                        if counts:
                            _add(part, counts)
                else:
                    for idx, counts in buckets.items():
                        if lo <= idx <= hi:
                            _add(part, counts)
            _add(target, part)
        return target

    today = total(plan.today, {})
    for series, t in recent:
        if t > clock and t // 60 == plan.minute:
            today[series] = today.get(series, 0) - 1
    out: dict[str, dict[str, int]] = {}
    for window in WINDOWS:
        if window == "today":
            out[window] = today
        elif window in ("month", "quarter", "year"):
            out[window] = total(plan.others[window], dict(today))
        else:
            out[window] = total(plan.others[window], {})
    return {w: {s: n for s, n in c.items() if n} for w, c in out.items()}


#: Sliding windows: (name, length, granularity of membership) — minutes or hours.
_SLIDING: Final = (
    ("1h", 60, "m"),
    ("24h", _MINUTES_24H, "m"),
    ("7d", _HOURS_7D, "h"),
    ("30d", _HOURS_30D, "h"),
)


def _first_minute(g: str, idx: int) -> int:
    """First minute index of a bucket of any granularity."""
    if g == "m":
        return idx
    if g == "h":
        return 60 * idx
    if g == "d":
        return 60 * _day_start_hour(idx)
    return 60 * _day_start_hour(month_first_day(idx))


def stable_until(
    minute: Buckets,
    hour: Buckets,
    day: Buckets,
    month: Buckets,
    clock: float,
    next_item: float | None,
) -> float:
    """First clock time after ``clock`` at which :func:`compute_windows` may change.

    With the same buckets, ``compute_windows(..., T')`` equals ``compute_windows(...,
    clock)`` for every ``T'`` in ``[clock, stable_until(...))``. A sliding window
    changes when its oldest counted item leaves it (taken at the first minute or hour of
    the oldest non-empty bucket the window is added up from, which is never later); an
    item later than ``clock`` enters the windows at the start of its minute, of its
    hour, or at its own time (calendar windows hold ``t ≤ T``); calendar windows change
    at the end of the local day at the latest.

    Args:
        minute: Minute buckets, as for :func:`compute_windows`.
        hour: Hour buckets.
        day: Local-day buckets.
        month: Local-month buckets.
        clock: T, seconds since the epoch.
        next_item: Time of the earliest item later than ``clock``, if any (all items
            later than T must be known, e.g. from the recent items, for this to hold).

    Returns:
        Seconds since the epoch, always greater than ``clock``.
    """
    plan = _plan(minute_index(clock))
    by_g: dict[str, Buckets] = {"m": minute, "h": hour, "d": day, "mo": month}
    until = float(_day_start_hour(day_index(clock) + 1) * 3600)  # the local midnight
    for window, length, unit in _SLIDING:
        oldest: int | None = None
        for g, lo, hi in plan.others[window]:
            buckets = by_g[g]
            found = [i for i in buckets if lo <= i <= hi and any(buckets[i].values())]
            if found:
                first = _first_minute(g, min(found))
                oldest = first if oldest is None else min(oldest, first)
        if oldest is None:
            continue
        if unit == "m":
            leave = (oldest + length) * 60
        else:
            leave = (oldest // 60 + length) * 3600
        until = min(until, float(leave))
    if next_item is not None:
        starts = (float(hour_index(next_item) * 3600), float(minute_index(next_item) * 60))
        for t in (*starts, next_item):
            if t > clock:
                until = min(until, t)
    return until
