"""The offline path end to end: counters, clocks, and the exact exposition (METRICS.md)."""

from __future__ import annotations

import gzip
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from ioc_testkit import (
    LONG_UNIT,
    REASONS,
    REGISTRY,
    WINDOWS,
    encode,
    event,
    expo,
    key,
    run,
    snap_at,
    ts,
    window_count,
    zero_totals,
)

from ioc_monitor import offline
from ioc_monitor.offline import compute, exposition
from ioc_monitor.report import to_json

CLOCK = "2026-03-10T12:00:00+07:00"
UA = {"unit": "u-a", "level": "commune"}


#: Series every unit of the registry has, from the registry alone (METRICS.md v2).
REGISTRY_SERIES = {"ioc_unit_info", "ioc_unit_target_ratio"}


def names_for_unit(samples: dict[Any, str], unit: str) -> set[str]:
    """Names of the unit's series, beyond the two every registry unit has."""
    return {name for (name, labels) in samples if ("unit", unit) in labels} - REGISTRY_SERIES


# --- per-unit counters -------------------------------------------------------------------


def test_counters_of_a_unit_that_saw_an_event_have_every_label_value() -> None:
    s = expo(snap_at([event(2, channel="online", online_mode="full")], CLOCK))
    received = "ioc_dossiers_received_total"
    completed = "ioc_dossiers_completed_total"
    assert s[key(received, **UA, channel="in_person")] == "0.0"
    assert s[key(received, **UA, channel="online_full")] == "1.0"
    assert s[key(received, **UA, channel="online_partial")] == "0.0"
    assert s[key(received, **UA, channel="postal")] == "0.0"
    assert s[key(completed, **UA, timeliness="early")] == "0.0"
    assert s[key(completed, **UA, timeliness="on_time")] == "0.0"
    assert s[key(completed, **UA, timeliness="late")] == "0.0"
    assert s[key("ioc_dossiers_refused_total", **UA)] == "0.0"
    assert s[key("ioc_dossiers_in_progress", **UA)] == "1.0"
    assert s[key("ioc_dossiers_overdue", **UA)] == "0.0"
    for name in (
        "ioc_dossiers_digitized_total",
        "ioc_dossiers_completed_with_fee_total",
        "ioc_dossiers_paid_online_total",
        "ioc_dossiers_multi_visit_total",
    ):
        assert s[key(name, **UA)] == "0.0"
    assert s[key("ioc_dossiers_rated_total", **UA, rating="satisfied")] == "0.0"
    assert s[key("ioc_dossiers_rated_total", **UA, rating="unsatisfied")] == "0.0"
    # exactly 4 + 3 + 1 (v1) + 4 + 2 (v2) counter series for the unit
    counters = [k for k in s if ("unit", "u-a") in k[1] and k[0].endswith("_total")]
    assert len(counters) == 14


def test_units_without_accepted_events_have_no_series() -> None:
    stream = [event(2, unit_id="u-a"), event(2, unit_id="u-b", channel="fax")]
    s = expo(snap_at(stream, CLOCK))
    for unit in ("u-b", "u-prov", LONG_UNIT):
        assert names_for_unit(s, unit) == set()
    assert "ioc_dossiers_received_total" in names_for_unit(s, "u-a")


def test_level_label_comes_from_the_registry() -> None:
    s = expo(
        snap_at([event(3, unit_id="u-prov"), event(3, dossier_id="d-2", unit_id=LONG_UNIT)], CLOCK)
    )
    assert s[key("ioc_dossiers_refused_total", unit="u-prov", level="province")] == "1.0"
    assert s[key("ioc_dossiers_refused_total", unit=LONG_UNIT, level="district")] == "1.0"


def test_rejected_total_has_all_six_reasons() -> None:
    stream = [b"{", event(2, unit_id="u-zzz"), event(2, unit_id="u-zzz")]
    s = expo(snap_at(stream, CLOCK))
    expected = {
        "too_large": "0.0",
        "malformed_json": "1.0",
        "schema": "0.0",
        "unknown_status": "0.0",
        "unknown_unit": "2.0",
        "invalid_times": "0.0",
    }
    got = {
        dict(labels)["reason"]: v
        for (name, labels), v in s.items()
        if name == "ioc_events_rejected_total"
    }
    assert got == expected
    assert s[key("ioc_events_processed_total")] == "0.0"
    assert s[key("ioc_events_duplicate_total")] == "0.0"
    assert not any(name == "ioc_event_watermark_timestamp_seconds" for name, _ in s)
    assert all(
        ("unit", u.id) not in labels
        for u in REGISTRY
        for n, labels in s
        if n not in REGISTRY_SERIES
    )


def test_empty_stream_exposes_pipeline_counters_only() -> None:
    store = run([])
    snap = store.snapshot(None)
    s = {k: v for k, v in expo(snap).items() if k[0] not in REGISTRY_SERIES}
    assert s == {
        key("ioc_events_processed_total"): "0.0",
        key("ioc_events_duplicate_total"): "0.0",
        **{key("ioc_events_rejected_total", reason=r): "0.0" for r in REASONS},
    }


# --- ratios ------------------------------------------------------------------------------


def _completed(
    dossier: str, received: str, due: str, ended: str, **extra: Any
) -> list[dict[str, Any]]:
    return [
        event(
            2, dossier_id=dossier, occurred_at=received, received_at=received, due_at=due, **extra
        ),
        event(10, dossier_id=dossier, occurred_at=ended, received_at=received, due_at=due, **extra),
    ]


RATIO_STREAM = [
    # late, ended 10 March 11:30 (in 1h)
    *_completed(
        "d-1", "2026-03-09T08:00:00+07:00", "2026-03-10T11:00:00+07:00", "2026-03-10T11:30:00+07:00"
    ),
    # early, ended 9 March 15:00 (in 24h, not today)
    *_completed(
        "d-2", "2026-03-09T08:00:00+07:00", "2026-03-10T17:00:00+07:00", "2026-03-09T15:00:00+07:00"
    ),
    # on time, ended 5 March (7d, month); received online
    *_completed(
        "d-3",
        "2026-03-04T08:00:00+07:00",
        "2026-03-05T17:00:00+07:00",
        "2026-03-05T10:00:00+07:00",
        channel="online",
        online_mode="full",
    ),
    # early, ended 20 February (30d, quarter, year)
    *_completed(
        "d-4", "2026-02-19T08:00:00+07:00", "2026-02-21T17:00:00+07:00", "2026-02-20T10:00:00+07:00"
    ),
]


def test_on_time_and_online_ratios_per_window() -> None:
    snap = snap_at(RATIO_STREAM, CLOCK)
    s = expo(snap)
    on_time = {dict(lb)["window"]: v for (n, lb), v in s.items() if n == "ioc_on_time_ratio"}
    online = {dict(lb)["window"]: v for (n, lb), v in s.items() if n == "ioc_online_ratio"}
    assert on_time == {
        "1h": "0.0",  # 0 / 1
        "24h": "0.5",  # 1 / 2
        "7d": "0.6666666666666666",  # 2 / 3
        "30d": "0.75",  # 3 / 4
        "today": "0.0",  # 0 / 1
        "month": "0.6666666666666666",
        "quarter": "0.75",
        "year": "0.75",
    }
    # receipts at 8:00 on 9 March and earlier: none in 1h, 24h or today -> no series
    assert online == {
        "7d": "0.3333333333333333",
        "30d": "0.25",
        "month": "0.3333333333333333",
        "quarter": "0.25",
        "year": "0.25",
    }
    for (name, labels), _ in s.items():
        if name in ("ioc_on_time_ratio", "ioc_online_ratio"):
            assert ("unit", "u-a") in labels and ("level", "commune") in labels
    wc = "ioc_window_dossiers_completed"
    assert s[key(wc, **UA, window="24h", timeliness="late")] == "1.0"
    assert s[key(wc, **UA, window="24h", timeliness="early")] == "1.0"
    assert s[key(wc, **UA, window="year", timeliness="early")] == "2.0"
    assert s[key(wc, **UA, window="year", timeliness="on_time")] == "1.0"
    assert s.get(key(wc, **UA, window="1h", timeliness="early"), "0.0") == "0.0"
    wr = "ioc_window_dossiers_received"
    assert s[key(wr, **UA, window="30d", channel="in_person")] == "3.0"
    assert s[key(wr, **UA, window="30d", channel="online_full")] == "1.0"
    assert s.get(key(wr, **UA, window="24h", channel="in_person"), "0.0") == "0.0"
    totals = "ioc_dossiers_completed_total"
    assert s[key(totals, **UA, timeliness="early")] == "2.0"
    assert s[key(totals, **UA, timeliness="on_time")] == "1.0"
    assert s[key(totals, **UA, timeliness="late")] == "1.0"


def test_no_completions_no_on_time_ratio_and_all_in_person_online_ratio_zero() -> None:
    s = expo(snap_at([event(2, received_at="2026-03-10T11:30:00+07:00")], CLOCK))
    assert not any(name == "ioc_on_time_ratio" for name, _ in s)
    online = {dict(lb)["window"]: v for (n, lb), v in s.items() if n == "ioc_online_ratio"}
    assert online == dict.fromkeys(WINDOWS, "0.0")


def test_all_late_gives_a_real_zero() -> None:
    stream = _completed(
        "d-1", "2026-03-10T08:00:00+07:00", "2026-03-10T10:00:00+07:00", "2026-03-10T11:30:00+07:00"
    )
    snap = snap_at(stream, CLOCK)
    s = expo(snap)
    on_time = {dict(lb)["window"]: v for (n, lb), v in s.items() if n == "ioc_on_time_ratio"}
    assert on_time == dict.fromkeys(WINDOWS, "0.0")
    # exact lines (prometheus-client writes labels sorted by name)
    lines = exposition(snap, REGISTRY).decode().splitlines()
    assert 'ioc_on_time_ratio{level="commune",unit="u-a",window="24h"} 0.0' in lines
    assert 'ioc_dossiers_completed_total{level="commune",timeliness="late",unit="u-a"} 1.0' in lines
    assert (
        'ioc_dossiers_completed_total{level="commune",timeliness="early",unit="u-a"} 0.0' in lines
    )
    assert 'ioc_events_rejected_total{reason="too_large"} 0.0' in lines


def test_refusals_alone_give_no_ratio() -> None:
    s = expo(snap_at([event(3)], CLOCK))
    assert not any(name in ("ioc_on_time_ratio", "ioc_online_ratio") for name, _ in s)
    assert s[key("ioc_dossiers_refused_total", **UA)] == "1.0"
    assert s[key("ioc_dossiers_in_progress", **UA)] == "0.0"


def test_ratio_absent_in_a_window_with_no_denominator_but_present_in_others() -> None:
    # completed early 2 days before the clock: in 7d, not in 1h / 24h / today
    stream = _completed(
        "d-1", "2026-03-08T08:00:00+07:00", "2026-03-09T17:00:00+07:00", "2026-03-08T11:00:00+07:00"
    )
    s = expo(snap_at(stream, CLOCK))
    on_time = {dict(lb)["window"]: v for (n, lb), v in s.items() if n == "ioc_on_time_ratio"}
    assert on_time == {"7d": "1.0", "30d": "1.0", "month": "1.0", "quarter": "1.0", "year": "1.0"}


# --- clocks ------------------------------------------------------------------------------


def _write(path: Path, messages: list[bytes], sep: bytes = b"\n") -> Path:
    data = sep.join(messages) + sep
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


CLOCK_STREAM = [
    event(3, dossier_id="d-1", occurred_at="2026-03-10T09:00:00+07:00"),
    event(
        2,
        event_id="ev-dup",
        dossier_id="d-2",
        occurred_at="2026-03-10T10:20:00+07:00",
        received_at="2026-03-10T10:00:00+07:00",
        due_at="2026-03-10T11:00:00+07:00",
    ),
    # a duplicate, a rejected unknown unit and a schema failure, all later: not the watermark
    event(4, event_id="ev-dup", dossier_id="d-2", occurred_at="2026-03-12T10:00:00+07:00"),
    event(3, dossier_id="d-3", unit_id="u-zzz", occurred_at="2026-03-11T10:00:00+07:00"),
    event(3, dossier_id="d-4", channel="fax", occurred_at="2026-03-11T10:00:00+07:00"),
    event(0, dossier_id="d-5", occurred_at="2026-03-11T10:00:00+07:00"),
]
WATERMARK = "2026-03-10T10:20:00+07:00"


def test_event_clock_is_the_watermark_of_accepted_events(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.jsonl", encode(CLOCK_STREAM))
    snap = compute([path], REGISTRY, clock="event")
    assert snap.clock == ts(WATERMARK)
    assert snap.watermark == ts(WATERMARK)
    fig = snap.units["u-a"]
    # T = 10:20: 1h is (09:20, 10:20]: refusal 09:00 out, receipt 10:00 in
    assert window_count(fig, "1h", "refused") == 0
    assert window_count(fig, "1h", "received:in_person") == 1
    assert window_count(fig, "today", "refused") == 1
    assert fig.overdue == 0  # due 11:00 is after T
    s = expo(snap)
    assert float(s[key("ioc_event_watermark_timestamp_seconds")]) == ts(WATERMARK)
    assert (snap.processed, snap.duplicate, sum(snap.rejected.values())) == (2, 1, 3)


def test_wall_clock_uses_now(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.jsonl", encode(CLOCK_STREAM))
    now = ts("2026-03-10T11:00:30+07:00")
    snap = compute([path], REGISTRY, clock="wall", now=now)
    assert snap.clock == now
    assert snap.watermark == ts(WATERMARK)
    fig = snap.units["u-a"]
    # T = 11:00:30: 1h is (10:00, 11:00]: the receipt's minute 10:00 is the excluded bound
    assert window_count(fig, "1h", "received:in_person") == 0
    assert window_count(fig, "24h", "received:in_person") == 1
    assert fig.overdue == 1  # due 11:00:00 is before 11:00:30
    snap2 = compute([path], REGISTRY, clock="wall", now=ts("2026-03-10T11:00:00+07:00"))
    assert snap2.units["u-a"].overdue == 0  # due == clock is not overdue


def test_wall_clock_defaults_to_the_current_time(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.jsonl", encode(CLOCK_STREAM))
    before = time.time()
    snap = compute([path], REGISTRY, clock="wall")
    assert snap.clock is not None
    assert before <= snap.clock <= time.time()
    assert snap.units["u-a"].overdue == 1  # due 2026-03-10T11:00 is long past


def test_event_clock_without_accepted_events(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.jsonl", [b"{", orjson.dumps(event(2, unit_id="u-zzz"))])
    snap = compute([path], REGISTRY, clock="event")
    assert snap.clock is None and snap.watermark is None
    assert snap.units == {}
    assert snap.rejected["malformed_json"] == 1 and snap.rejected["unknown_unit"] == 1


def test_watermark_moves_with_events_of_completed_dossiers() -> None:
    stream = [
        event(10, occurred_at="2026-03-10T09:00:00+07:00"),
        event(4, occurred_at="2026-03-11T09:00:00+07:00"),
    ]
    store = run(stream)
    assert store.watermark == ts("2026-03-11T09:00:00+07:00")


def test_watermark_is_the_maximum_not_the_last() -> None:
    stream = [
        event(3, dossier_id="d-1", occurred_at="2026-03-10T11:00:00+07:00"),
        event(3, dossier_id="d-2", occurred_at="2026-03-10T09:00:00+07:00"),
    ]
    assert run(stream).watermark == ts("2026-03-10T11:00:00+07:00")


def test_gzip_crlf_and_blank_lines_read_like_plain(tmp_path: Path) -> None:
    messages = encode(RATIO_STREAM)
    plain = _write(tmp_path / "a.jsonl", messages)
    gz = _write(tmp_path / "b.jsonl.gz", messages, sep=b"\r\n\n")
    a = compute([plain], REGISTRY, clock="event")
    b = compute([gz], REGISTRY, clock="event")
    assert to_json(a, REGISTRY) == to_json(b, REGISTRY)
    assert a.processed == len(messages)


# --- personal data -----------------------------------------------------------------------

PII = {
    "applicant_name": "Nguyễn Văn An",
    "citizen_id": "001099012345",
    "phone": "0912345678",
    "address": "12 Lê Lợi, Hạ Long",
}


def test_personal_data_never_reaches_the_snapshot_or_exposition() -> None:
    stream = [
        event(2, **PII),
        event(10, **PII, occurred_at="2026-03-10T11:00:00+07:00"),
        event(3, dossier_id="d-2", **PII),
        event(2, dossier_id="d-3", unit_id="u-zzz", **PII),
    ]
    snap = snap_at(stream, CLOCK)
    assert snap.processed == 3
    text = exposition(snap, REGISTRY).decode()
    report = orjson.dumps(to_json(snap, REGISTRY)).decode()
    for value in PII.values():
        assert value not in text
        assert value not in report
        assert value not in repr(snap)


# --- retention must not change the rules -------------------------------------------------


@pytest.mark.parametrize("batch_size", [2000, 1])
def test_a_late_event_of_a_long_completed_dossier_changes_nothing(
    batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # KPIS.md: "Events of a completed dossier still count as processed, and change
    # nothing else"; receipt and completion are counted once per dossier.
    monkeypatch.setattr(offline, "BATCH_SIZE", batch_size)
    stream = [
        event(
            10,
            dossier_id="d-1",
            received_at="2026-01-01T08:00:00+07:00",
            due_at="2026-01-05T17:00:00+07:00",
            occurred_at="2026-01-01T09:00:00+07:00",
        ),
        event(3, dossier_id="d-2", occurred_at="2026-02-10T09:00:00+07:00"),
        event(
            10,
            dossier_id="d-1",
            received_at="2026-01-01T08:00:00+07:00",
            due_at="2026-01-05T17:00:00+07:00",
            occurred_at="2026-02-11T09:00:00+07:00",
        ),
    ]
    snap = snap_at(stream, "2026-02-12T00:00:00+07:00")
    assert dict(snap.units["u-a"].totals) == zero_totals(
        received_in_person=1, completed_early=1, refused=1
    )
    assert snap.processed == 3


@pytest.mark.parametrize("batch_size", [2000, 1])
def test_an_old_event_redelivered_at_once_is_a_duplicate(
    batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EVENTS.md: "A message whose event_id was already accepted is a duplicate: counted,
    # no other effect"; KPIS.md: de-duplication holds for at least 35 days. Here the
    # redelivery follows the original immediately; only the event's occurred_at is old
    # (a backfill arriving after newer events).
    monkeypatch.setattr(offline, "BATCH_SIZE", batch_size)
    old = event(
        10,
        dossier_id="d-1",
        received_at="2026-01-09T08:00:00+07:00",
        due_at="2026-01-12T17:00:00+07:00",
        occurred_at="2026-01-10T09:00:00+07:00",
    )
    stream = [event(3, dossier_id="d-0", occurred_at="2026-03-01T09:00:00+07:00"), old, old]
    snap = snap_at(stream, "2026-03-01T10:00:00+07:00")
    assert (snap.processed, snap.duplicate) == (2, 1)
    assert dict(snap.units["u-a"].totals) == zero_totals(
        received_in_person=1, completed_early=1, refused=1
    )


def _completed_then_resent(days_later: int) -> list[dict[str, object]]:
    """d-1 received and completed on 2026-01-01; d-2 refused ``days_later``; d-1 re-sent."""
    done = event(
        10,
        event_id="ev-done",
        dossier_id="d-1",
        received_at="2026-01-01T08:00:00+07:00",
        due_at="2026-01-05T17:00:00+07:00",
        occurred_at="2026-01-01T09:00:00+07:00",
    )
    later = datetime.fromisoformat("2026-01-01T09:00:00+07:00") + timedelta(days=days_later)
    filler = event(3, event_id="ev-filler", dossier_id="d-2", occurred_at=later.isoformat())
    return [done, filler, done]


@pytest.mark.parametrize("batch_size", [2000, 1])
@pytest.mark.parametrize("days_later", [40, 200, 380, 400, 405, 700])
def test_an_event_resent_months_later_is_still_a_duplicate(
    batch_size: int, days_later: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # KPIS.md v2: event ids are kept with their dossier's state at least 400 days
    # (event time) after its completion; within that, a re-sent event is a duplicate.
    # The re-sent event's own time is its original one, so however late it arrives (the
    # stores keep the state 800 days of watermark) it is a duplicate. Hand-worked:
    # ev-done counts one in-person receipt and one early completion (ended 01-01, before
    # the due date 01-05); ev-filler one refusal; the re-send only counts as a duplicate.
    monkeypatch.setattr(offline, "BATCH_SIZE", batch_size)
    snap = snap_at(_completed_then_resent(days_later), "2028-06-01T00:00:00+07:00")
    assert (snap.processed, snap.duplicate) == (2, 1)
    assert dict(snap.units["u-a"].totals) == zero_totals(
        received_in_person=1, completed_early=1, refused=1
    )


@pytest.mark.parametrize("batch_size", [2000, 1])
@pytest.mark.parametrize(
    ("days_after", "received", "in_progress"), [(200, 1, 0), (400, 1, 0), (405, 2, 1)]
)
def test_a_new_event_past_the_horizon_starts_the_dossier_again(
    batch_size: int,
    days_after: int,
    received: int,
    in_progress: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A new event (another id) of d-1, received again, ``days_after`` the completion by
    # its own occurred_at. Within 400 days it is an event of a completed dossier:
    # processed, nothing else. Past 400 days the dossier is forgotten, and the event is
    # the first of a new life: a second in-person receipt and one dossier in progress.
    monkeypatch.setattr(offline, "BATCH_SIZE", batch_size)
    done, filler, _ = _completed_then_resent(days_after)
    at = datetime.fromisoformat("2026-01-01T09:00:00+07:00") + timedelta(days=days_after)
    late = event(
        2,
        event_id="ev-late",
        dossier_id="d-1",
        received_at=at.isoformat(),
        due_at=(at + timedelta(days=3)).isoformat(),
        occurred_at=at.isoformat(),
    )
    snap = snap_at([done, filler, late], "2028-06-01T00:00:00+07:00")
    assert (snap.processed, snap.duplicate) == (3, 0)
    assert dict(snap.units["u-a"].totals) == zero_totals(
        received_in_person=received, completed_early=1, refused=1
    )
    assert snap.units["u-a"].in_progress == in_progress
