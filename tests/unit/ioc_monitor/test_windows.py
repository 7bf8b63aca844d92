"""KPIS.md windows: every boundary, worked out by hand in local time (UTC+7)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ioc_testkit import WINDOWS, event, run, snap_at, ts, window_count

from ioc_monitor.timeutil import day_of
from ioc_monitor.windows import (
    bucket_slots,
    compute_windows,
    prune_plan,
    shard_spans,
    stable_until,
)

ALL = frozenset(WINDOWS)
CAL = frozenset({"today", "month", "quarter", "year"})


def W(*names: str) -> frozenset[str]:
    return frozenset(names)


T1 = "2026-03-10T12:00:30+07:00"
T2 = "2026-04-01T00:00:30+07:00"
T3 = "2026-01-01T06:00:00+07:00"  # 2025-12-31T23:00Z: UTC is still in 2025
T4 = "2026-07-01T06:00:00+07:00"  # 2026-06-30T23:00Z
T5 = "2026-05-15T10:00:00+07:00"
T6 = "2026-03-31T10:00:00+07:00"
T7 = "2026-12-31T23:59:59+07:00"
T8 = "2027-01-01T05:00:00+07:00"  # 2026-12-31T22:00Z

BOUNDARIES = [
    # T1: floor(T,1min) = 12:00, floor(T,1h) = 12:00 on 10 March
    (T1, T1, ALL),
    (T1, "2026-03-10T12:00:00+07:00", ALL),
    (T1, "2026-03-10T11:00:59+07:00", ALL - W("1h")),  # floor 11:00 = floor(T) - 60 min
    (T1, "2026-03-10T11:01:00+07:00", ALL),
    (T1, "2026-03-09T12:00:59+07:00", W("7d", "30d", "month", "quarter", "year")),
    (T1, "2026-03-09T12:01:00+07:00", W("24h", "7d", "30d", "month", "quarter", "year")),
    (T1, "2026-03-03T12:59:59+07:00", W("30d", "month", "quarter", "year")),  # hour 12:00 = -168 h
    (T1, "2026-03-03T13:00:00+07:00", W("7d", "30d", "month", "quarter", "year")),
    (T1, "2026-02-08T12:59:59+07:00", W("quarter", "year")),  # hour 12:00 = -720 h
    (T1, "2026-02-08T13:00:00+07:00", W("30d", "quarter", "year")),
    # local month and quarter turn over at local midnight
    (T2, "2026-03-31T23:59:00+07:00", W("1h", "24h", "7d", "30d", "year")),
    (T2, "2026-03-31T23:00:59+07:00", W("24h", "7d", "30d", "year")),
    (T2, "2026-04-01T00:00:00+07:00", ALL),
    # local year 2026 starts at 2025-12-31T17:00Z
    (T3, "2026-01-01T03:00:00+07:00", ALL - W("1h")),
    (T3, "2026-01-01T00:00:00+07:00", ALL - W("1h")),
    (T3, "2025-12-31T23:59:59+07:00", W("24h", "7d", "30d")),
    (T3, "2025-12-31T20:00:00+07:00", W("24h", "7d", "30d")),  # same UTC day as T
    (T8, "2026-12-31T23:00:00+07:00", W("24h", "7d", "30d")),  # same UTC year as T
    (T8, "2027-01-01T00:00:00+07:00", ALL - W("1h")),
    # quarter boundary 30 June / 1 July, local
    (T4, "2026-06-30T23:00:00+07:00", W("24h", "7d", "30d", "year")),
    (T4, "2026-06-30T23:59:59+07:00", W("24h", "7d", "30d", "year")),
    (T4, "2026-07-01T00:00:00+07:00", ALL - W("1h")),
    (T4, "2026-07-01T01:00:00+07:00", ALL - W("1h")),
    (T4, "2026-07-01T05:00:59+07:00", ALL - W("1h")),
    (T4, "2026-07-01T05:01:00+07:00", ALL),
    # quarter and month starts mid-quarter
    (T5, "2026-04-01T00:00:00+07:00", W("quarter", "year")),
    (T5, "2026-03-31T23:59:59+07:00", W("year")),
    (T5, "2026-05-01T00:00:00+07:00", W("30d", "month", "quarter", "year")),
    (T5, "2026-04-30T23:59:59+07:00", W("30d", "quarter", "year")),
    (T5, "2026-04-15T10:59:59+07:00", W("quarter", "year")),  # hour 10:00 = -720 h
    (T5, "2026-04-15T11:00:00+07:00", W("30d", "quarter", "year")),
    (T6, "2026-03-01T10:59:59+07:00", W("month", "quarter", "year")),
    (T6, "2026-03-01T11:00:00+07:00", W("30d", "month", "quarter", "year")),
    (T6, "2026-02-28T23:59:59+07:00", W("quarter", "year")),
    (T6, "2026-01-01T00:00:00+07:00", W("quarter", "year")),
    (T6, "2025-12-31T23:59:59+07:00", W()),
    # the last second of a local year
    (T7, T7, ALL),
    (T7, "2026-12-31T00:00:00+07:00", ALL - W("1h")),
    (T7, "2026-12-30T23:59:59+07:00", W("7d", "30d", "month", "quarter", "year")),  # -1440 min
    (T7, "2026-12-30T23:58:59+07:00", W("7d", "30d", "month", "quarter", "year")),
    (T7, "2026-01-01T00:00:00+07:00", W("year")),
    (T7, "2025-12-31T23:59:59+07:00", W()),
]


@pytest.mark.parametrize(("clock", "t", "expected"), BOUNDARIES)
def test_refusal_window_membership(clock: str, t: str, expected: frozenset[str]) -> None:
    snap = snap_at([event(3, occurred_at=t)], clock)
    fig = snap.units["u-a"]
    got = {w for w in WINDOWS if window_count(fig, w, "refused") == 1}
    assert got == expected
    assert all(window_count(fig, w, "refused") in (0, 1) for w in WINDOWS)
    assert fig.totals["refused"] == 1


def test_window_counts_over_one_stream() -> None:
    # the ten T1 cases above, one refused dossier each, counted together
    times = [t for clock, t, _ in BOUNDARIES if clock == T1]
    assert len(times) == 10
    stream = [event(3, dossier_id=f"d-{i}", occurred_at=t) for i, t in enumerate(times)]
    fig = snap_at(stream, T1).units["u-a"]
    expected = {
        "1h": 3,
        "24h": 5,
        "7d": 7,
        "30d": 9,
        "today": 4,
        "month": 8,
        "quarter": 10,
        "year": 10,
    }
    assert {w: window_count(fig, w, "refused") for w in WINDOWS} == expected


# --- items after the clock ---------------------------------------------------------------

OCC = "2026-03-10T12:00:10+07:00"


@pytest.mark.parametrize(
    ("received", "clock", "expected"),
    [
        # in T's own minute but after T: the 1h/24h rule takes the whole minute bucket,
        # the calendar windows need t <= T
        ("2026-03-10T12:00:40+07:00", None, W("1h", "24h", "7d", "30d")),
        ("2026-03-10T12:00:40+07:00", "2026-03-10T12:00:39+07:00", W("1h", "24h", "7d", "30d")),
        ("2026-03-10T12:00:40+07:00", "2026-03-10T12:00:40+07:00", ALL),
        ("2026-03-10T12:00:40+07:00", "2026-03-10T12:00:59.999+07:00", ALL),
        ("2026-03-10T12:00:05+07:00", None, ALL),
        # in T's hour but a later minute: only the hour-floor windows hold it
        ("2026-03-10T12:59:00+07:00", None, W("7d", "30d")),
        ("2026-03-10T12:01:00+07:00", "2026-03-10T12:00:59+07:00", W("7d", "30d")),
        # a later hour or day: nothing
        ("2026-03-10T13:00:00+07:00", None, W()),
        ("2026-03-11T09:00:00+07:00", None, W()),
        ("2026-03-11T09:00:00+07:00", "2026-03-11T09:00:00+07:00", ALL),
    ],
)
def test_receipt_after_the_clock(
    received: str, clock: str | None, expected: frozenset[str]
) -> None:
    store = run(
        [event(2, occurred_at=OCC, received_at=received, due_at="2026-03-20T17:00:00+07:00")]
    )
    assert store.watermark == ts(OCC)
    snap = store.snapshot(store.watermark if clock is None else ts(clock))
    fig = snap.units["u-a"]
    got = {w for w in WINDOWS if window_count(fig, w, "received:in_person") == 1}
    assert got == expected
    assert fig.totals["received:in_person"] == 1


def test_completion_after_the_event_clock_in_the_same_minute() -> None:
    # completed 12:00:50 by an event that occurred 12:00:20; the watermark is 12:00:20
    stream = [
        event(2, occurred_at="2026-03-10T11:00:00+07:00"),
        event(
            10,
            occurred_at="2026-03-10T12:00:20+07:00",
            ended_at="2026-03-10T12:00:50+07:00",
        ),
    ]
    store = run(stream)
    fig = store.snapshot(store.watermark).units["u-a"]
    counts = {w: window_count(fig, w, "completed:early") for w in WINDOWS}
    assert counts == {
        "1h": 1,
        "24h": 1,
        "7d": 1,
        "30d": 1,
        "today": 0,
        "month": 0,
        "quarter": 0,
        "year": 0,
    }


def test_wall_clock_behind_the_watermark_still_needs_t_le_t() -> None:
    # KPIS.md: wall = "the current time"; nothing forbids event times ahead of it
    # (producer clock skew). Both refusals are after T = 12:00:30, so no calendar
    # window holds them; 12:00:45 is in T's minute (1h, 24h) and both are in T's hour.
    stream = [
        event(3, dossier_id="d-1", occurred_at="2026-03-10T12:05:00+07:00"),
        event(3, dossier_id="d-2", occurred_at="2026-03-10T12:00:45+07:00"),
    ]
    fig = snap_at(stream, "2026-03-10T12:00:30+07:00").units["u-a"]
    assert {w: window_count(fig, w, "refused") for w in WINDOWS} == {
        "1h": 1,
        "24h": 1,
        "7d": 2,
        "30d": 2,
        "today": 0,
        "month": 0,
        "quarter": 0,
        "year": 0,
    }


def test_zero_counts_are_left_out_of_windows() -> None:
    fig = snap_at([event(3, occurred_at="2026-03-10T08:00:00+07:00")], T1).units["u-a"]
    assert dict(fig.windows.get("1h", {})) == {}
    assert dict(fig.windows["today"]) == {"refused": 1}


# --- compute_windows directly, on hand-made buckets --------------------------------------


def _minute(text: str) -> int:
    return int(ts(text) // 60)


def _hour(text: str) -> int:
    return int(ts(text) // 3600)


def _day(local_date: str) -> int:
    # days since 1970-01-01 of a local calendar date (local midnight + 7 h = that UTC day)
    return int(ts(f"{local_date}T00:00:00+00:00") // 86400)


def shards_needed(clock: float) -> dict[str, tuple[int, ...]]:
    """The shard ids of :func:`shard_spans`, per granularity."""
    spans = shard_spans(clock)
    return {g: tuple(s for g2, s, _, _ in spans if g2 == g) for g in ("m", "h", "d", "mo")}


def _month(year: int, month: int) -> int:
    return year * 12 + month - 1


def test_compute_windows_minute_buckets_and_recent_items() -> None:
    clock = ts(T1)  # 2026-03-10 12:00:30 local
    minute = {
        _minute("2026-03-10T11:00:00+07:00"): {"refused": 1},  # out of 1h
        _minute("2026-03-10T11:01:00+07:00"): {"refused": 2},
        _minute("2026-03-10T12:00:00+07:00"): {"received:postal": 3},
        _minute("2026-03-10T12:01:00+07:00"): {"refused": 50},  # after T's minute
        _minute("2026-03-09T12:00:00+07:00"): {"refused": 60},  # 24 h before: out of 24h
        _minute("2026-03-09T12:01:00+07:00"): {"completed:late": 4},  # first minute of 24h
    }
    # whole hours of today (and of the 24 h) come from hour buckets, not minutes
    hour = {
        _hour("2026-03-10T11:00:00+07:00"): {"refused": 3},  # = 1 + 2 above
        _hour("2026-03-10T00:00:00+07:00"): {"refused": 5},
        _hour("2026-03-09T23:00:00+07:00"): {"completed:late": 7},
        _hour("2026-03-09T12:00:00+07:00"): {"refused": 60, "completed:late": 4},  # partial
    }
    recent = [
        ("received:postal", ts("2026-03-10T12:00:10+07:00")),
        ("received:postal", ts("2026-03-10T12:00:31+07:00")),  # after T
        ("received:postal", ts("2026-03-10T12:00:59+07:00")),  # after T
        ("refused", ts("2026-03-10T12:01:10+07:00")),  # later minute: ignored
    ]
    out = compute_windows(minute, hour, {}, {}, recent, clock)
    assert out["1h"] == {"refused": 2, "received:postal": 3}
    # 24h: 09 Mar 12:01 minute (4 late) + hours 13:00 9 Mar .. 11:00 10 Mar + 12:00 minute
    assert out["24h"] == {"completed:late": 4 + 7, "refused": 5 + 3, "received:postal": 3}
    # today: hours 00:00..11:00 + minutes of 12:00 up to T, minus 2 items after T
    assert out["today"] == {"refused": 8, "received:postal": 1}
    # month, quarter and year: day and month buckets before today (none), plus today
    for w in ("month", "quarter", "year"):
        assert out[w] == {"refused": 8, "received:postal": 1}
    # 7d and 30d: today's hour buckets up to T's hour; 9 March is a whole day inside
    # both, so it comes from day buckets (none given here), not from its hours
    assert out["7d"] == {"refused": 8}
    assert out["30d"] == out["7d"]


def test_compute_windows_hour_day_and_month_buckets() -> None:
    clock = ts(T1)  # 2026-03-10 12:00:30 local
    hour = {
        _hour("2026-03-10T12:00:00+07:00"): {"refused": 1},
        _hour("2026-03-03T13:00:00+07:00"): {"refused": 10},  # first hour of 7d
        _hour("2026-03-03T12:00:00+07:00"): {"refused": 100},  # out of 7d
        _hour("2026-02-08T13:00:00+07:00"): {"refused": 1000},  # first hour of 30d
        _hour("2026-02-08T12:00:00+07:00"): {"refused": 10000},  # out of 30d
        _hour("2026-03-10T13:00:00+07:00"): {"refused": 100000},  # after T's hour
    }
    day = {
        _day("2026-03-10"): {"refused": 7},  # today: taken from hours and minutes instead
        _day("2026-03-09"): {"refused": 1},
        _day("2026-03-04"): {"refused": 20},  # first whole day of 7d
        _day("2026-03-03"): {"refused": 110},  # partial: hours are used for 7d
        _day("2026-03-01"): {"refused": 10},
        _day("2026-02-28"): {"refused": 100},
        _day("2026-02-09"): {"refused": 200},  # first whole day of 30d
        _day("2026-02-08"): {"refused": 11000},  # partial: hours are used for 30d
        _day("2026-01-01"): {"refused": 1000},  # in a whole month: month buckets are used
        _day("2026-03-11"): {"refused": 100000},  # after today
    }
    month = {
        _month(2026, 3): {"refused": 99},  # the current month: days are used
        _month(2026, 2): {"refused": 300},
        _month(2026, 1): {"refused": 5000},
        _month(2025, 12): {"refused": 70000},  # last year
    }
    out = compute_windows({}, hour, day, month, [], clock)
    # 7d: hour 3 Mar 13:00 + days 4..9 Mar + today's hours up to 12:00
    assert out["7d"] == {"refused": 10 + (20 + 1) + 1}
    # 30d: hour 8 Feb 13:00 + days 9 Feb..9 Mar + today's hours up to 12:00
    assert out["30d"] == {"refused": 1000 + (200 + 100 + 10 + 110 + 20 + 1) + 1}
    # month: days 1..9 March, plus today (minutes of 12:00 and hours before it: none)
    assert out["month"] == {"refused": 10 + 110 + 20 + 1}
    # quarter and year: January and February from month buckets, then days of March
    assert out["quarter"] == {"refused": 5000 + 300 + 141}
    assert out["year"] == out["quarter"]
    assert out["today"] == {} and out["1h"] == {} and out["24h"] == {}


def test_shards_needed_and_bucket_slots() -> None:
    clock = ts(T1)  # 2026-03-10 12:00:30 local = 05:00:30 UTC
    h_t = _hour("2026-03-10T12:00:00+07:00")
    shards = shards_needed(clock)
    # minutes: this hour, the previous one (1h), the first hour of the 24h
    assert shards["m"] == (h_t - 24, h_t - 1, h_t)
    # hours: the first days of 30d and 7d, yesterday and today
    assert shards["h"] == tuple(_day(d) for d in ("2026-02-08", "2026-03-03", "2026-03-09",
                                                  "2026-03-10"))  # fmt: skip
    assert shards["d"] == (_month(2026, 2), _month(2026, 3))
    assert shards["mo"] == (2026,)
    t = ts("2026-03-31T23:59:59+07:00")
    assert bucket_slots(t) == (
        ("m", _hour("2026-03-31T23:00:00+07:00"), _minute("2026-03-31T23:59:00+07:00")),
        ("h", _day("2026-03-31"), _hour("2026-03-31T23:00:00+07:00")),
        ("d", _month(2026, 3), _day("2026-03-31")),
        ("mo", 2026, _month(2026, 3)),
    )
    # January: no earlier month of the year, so no month shard is read
    assert shards_needed(ts("2026-01-20T10:00:00+07:00"))["mo"] == ()


_ORIGIN = ts("2026-01-01T00:00:00+07:00")


@settings(max_examples=60, deadline=None)
@given(
    clock=st.floats(0, 3 * 365 * 86400.0),
    offsets=st.lists(st.floats(-400 * 86400.0, 2 * 3600.0), max_size=60),
)
def test_compute_windows_on_the_needed_shards_equals_the_definition(
    clock: float, offsets: list[float]
) -> None:
    """Hierarchical sums over only the shards read equal KPIS.md's definition, item by item."""
    T = _ORIGIN + clock
    times = [T + o for o in offsets]
    full: dict[str, dict[int, dict[str, int]]] = {g: {} for g in ("m", "h", "d", "mo")}
    read: dict[str, dict[int, dict[str, int]]] = {g: {} for g in ("m", "h", "d", "mo")}
    need = shards_needed(T)
    for t in times:
        for g, shard, idx in bucket_slots(t):
            counts = full[g].setdefault(idx, {})
            counts["refused"] = counts.get("refused", 0) + 1
            if shard in need[g]:
                read[g][idx] = full[g][idx]
    recent = [("refused", t) for t in times if int(t // 60) == int(T // 60)]
    expected = _by_definition(times, T)
    want = {w: ({"refused": n} if n else {}) for w, n in expected.items()}
    assert compute_windows(full["m"], full["h"], full["d"], full["mo"], recent, T) == want
    assert compute_windows(read["m"], read["h"], read["d"], read["mo"], recent, T) == want


def _by_definition(times: list[float], T: float) -> dict[str, int]:
    """Items of each window at clock T, straight from KPIS.md's window table."""
    m_t, h_t = int(T // 60), int(T // 3600)

    def local(t: float) -> date:
        return day_of(int((t + 7 * 3600) // 86400))

    d = local(T)

    def quarter(x: date) -> tuple[int, int]:
        return x.year, (x.month - 1) // 3

    return {
        "1h": sum(1 for t in times if m_t - 60 < t // 60 <= m_t),
        "24h": sum(1 for t in times if m_t - 1440 < t // 60 <= m_t),
        "7d": sum(1 for t in times if h_t - 168 < t // 3600 <= h_t),
        "30d": sum(1 for t in times if h_t - 720 < t // 3600 <= h_t),
        "today": sum(1 for t in times if t <= T and local(t) == d),
        "month": sum(1 for t in times if t <= T and local(t).replace(day=1) == d.replace(day=1)),
        "quarter": sum(1 for t in times if t <= T and quarter(local(t)) == quarter(d)),
        "year": sum(1 for t in times if t <= T and local(t).year == d.year),
    }  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    clock=st.floats(0, 2 * 365 * 86400.0),
    offsets=st.lists(
        st.one_of(
            st.floats(-40 * 86400.0, 2 * 3600.0),
            st.floats(-3 * 3600.0, 600.0),  # near the clock, where the edges are
            st.sampled_from([-3600.0, -86400.0, -168 * 3600.0, -720 * 3600.0, 0.0, 30.0]),
        ),
        max_size=40,
    ),
    fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=5),
)
def test_windows_do_not_change_before_stable_until(
    clock: float, offsets: list[float], fractions: list[float]
) -> None:
    """For every T' in [T, stable_until): every window holds the same items as at T."""
    T = _ORIGIN + clock
    times = [T + o for o in offsets]
    read: dict[str, dict[int, dict[str, int]]] = {g: {} for g in ("m", "h", "d", "mo")}
    need = shards_needed(T)
    for t in times:
        for g, shard, idx in bucket_slots(t):
            if shard in need[g]:
                counts = read[g].setdefault(idx, {})
                counts["refused"] = counts.get("refused", 0) + 1
    later = [t for t in times if t > T]
    until = stable_until(read["m"], read["h"], read["d"], read["mo"], T, min(later, default=None))
    assert until > T
    at_t = _by_definition(times, T)
    probes = [T + f * (until - T) for f in fractions]
    probes.append(until - min(1e-3, (until - T) / 2))
    for probe in (p for p in probes if T <= p < until):
        assert _by_definition(times, probe) == at_t, (probe - T, until - T)


def test_stable_until_by_hand() -> None:
    """At T = 12:00:30 on 10 March, one item at 11:30:10 (minute 11:30): the 1h window
    (floor(T) − 60 min, floor(T)] drops it once floor(T) is 12:30, so the windows are
    stable until 12:30:00; an item at 12:05:20, later than T, enters the 1h and 24h
    windows when the clock's minute is 12:05, so then until 12:05:00."""
    T = ts("2026-03-10T12:00:30+07:00")
    old = ts("2026-03-10T11:30:10+07:00")
    buckets: dict[str, dict[int, dict[str, int]]] = {g: {} for g in ("m", "h", "d", "mo")}
    for g, _shard, idx in bucket_slots(old):
        buckets[g][idx] = {"refused": 1}
    args = (buckets["m"], buckets["h"], buckets["d"], buckets["mo"], T)
    assert stable_until(*args, None) == ts("2026-03-10T12:30:00+07:00")
    assert stable_until(*args, ts("2026-03-10T12:05:20+07:00")) == ts("2026-03-10T12:05:00+07:00")
    # an item later than T in T's own minute enters the calendar windows at its time
    assert stable_until(*args, ts("2026-03-10T12:00:40+07:00")) == ts("2026-03-10T12:00:40+07:00")
    # nothing at all: until the local midnight
    empty: dict[int, dict[str, int]] = {}
    assert stable_until(empty, empty, empty, empty, T, None) == ts("2026-03-11T00:00:00+07:00")


# --- prune_plan -------------------------------------------------------------------------
# By hand: 2025-03-03 16:30 UTC = 1_741_019_400 s, hour 483_616 (483_616 // 6 = 80_602,
# UTC 12:00-18:00 slot). The first kept hour shard is the local day of hour
# 483_616 - 744 (31 days back), so it moves at local midnight = 17:00 UTC; the first kept
# day shard is the month of the local day 400 days back (2024-01-29 here: it does not
# move on 4 March); the month shard is that day's year.
_MAR3_1630Z = 1_741_019_400.0


@pytest.mark.parametrize(
    ("previous", "watermark", "plan"),
    [
        (None, _MAR3_1630Z, ("m", "h", "d", "mo")),  # first batch: everything
        (_MAR3_1630Z, _MAR3_1630Z + 1200, ()),  # 16:50: same slot, same cutoffs
        (_MAR3_1630Z, _MAR3_1630Z + 2400, ("h",)),  # 17:10: local midnight, same slot
        (_MAR3_1630Z, _MAR3_1630Z + 6000, ("m", "h")),  # 18:10: new slot and midnight
        (_MAR3_1630Z + 2400, _MAR3_1630Z + 6000, ("m",)),  # 17:10 -> 18:10: slot only
    ],
)
def test_prune_plan_by_hand(
    previous: float | None, watermark: float, plan: tuple[str, ...]
) -> None:
    assert prune_plan(watermark, previous) == plan


def test_prune_plan_moves_day_and_month_shards_when_their_cutoff_moves() -> None:
    # 2026-02-04 16:30 UTC -> 17:10 UTC: local day 2026-02-05 begins; 400 days before it is
    # 2025-01-01, so the first kept day shard moves from December 2024 to January 2025,
    # and the month shard from year 2024 to 2025.
    before = 1_770_222_600.0  # 2026-02-04T16:30:00Z
    assert prune_plan(before + 2400, before) == ("h", "d", "mo")
