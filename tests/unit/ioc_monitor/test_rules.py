"""KPIS.md per-dossier rules, through the offline path (messages -> store -> snapshot)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ioc_testkit import OMIT, event, run, snap_at, ts, window_count, zero_totals

from ioc_monitor import offline

CLOCK = "2026-03-10T12:00:00+07:00"
SUPP = {"requested_at": "2026-03-10T10:00:00+07:00"}
SUPP2 = {"requested_at": "2026-03-10T11:00:00+07:00"}


def totals(snap: Any, unit: str = "u-a") -> dict[str, int]:
    return dict(snap.units[unit].totals)


# --- receipt -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "mode", "series"),
    [
        (OMIT, OMIT, "received_in_person"),
        ("in_person", OMIT, "received_in_person"),
        ("in_person", "full", "received_in_person"),
        ("online", OMIT, "received_online_partial"),
        ("online", "partial", "received_online_partial"),
        ("online", "full", "received_online_full"),
        ("postal", OMIT, "received_postal"),
        ("postal", "full", "received_postal"),
    ],
)
def test_receipt_channel(channel: object, mode: object, series: str) -> None:
    snap = snap_at([event(2, channel=channel, online_mode=mode)], CLOCK)
    assert totals(snap) == zero_totals(**{series: 1})
    fig = snap.units["u-a"]
    label = series.replace("received_", "received:")
    for window in ("1h", "24h", "7d", "30d", "today", "month", "quarter", "year"):
        # received 08:00 local, clock 12:00 local: out of 1h only
        assert window_count(fig, window, label) == (0 if window == "1h" else 1), window
    assert fig.in_progress == 1
    assert fig.overdue == 0


def test_receipt_counted_once_at_first_received_at_with_first_channel() -> None:
    snap = snap_at(
        [
            event(
                2,
                channel="online",
                online_mode="full",
                received_at="2026-03-09T20:00:00+07:00",
                occurred_at="2026-03-10T09:00:00+07:00",
            ),
            event(
                4,
                channel="postal",
                received_at="2026-03-10T08:30:00+07:00",
                occurred_at="2026-03-10T10:00:00+07:00",
            ),
            event(5, channel="in_person", occurred_at="2026-03-10T11:00:00+07:00"),
        ],
        CLOCK,
    )
    assert totals(snap) == zero_totals(received_online_full=1)
    fig = snap.units["u-a"]
    # bucket of the first received_at (9 March 20:00 local), not of occurred_at
    assert window_count(fig, "today", "received:online_full") == 0
    assert window_count(fig, "24h", "received:online_full") == 1
    assert window_count(fig, "month", "received:online_full") == 1
    assert sum(fig.windows.get("today", {}).values()) == 0
    assert snap.processed == 3
    assert fig.in_progress == 1


def test_receipt_waits_for_the_first_event_carrying_received_at() -> None:
    snap = snap_at(
        [
            event(1, channel="online", online_mode="full", occurred_at="2026-03-10T07:00:00+07:00"),
            event(2, channel="postal"),
        ],
        CLOCK,
    )
    assert totals(snap) == zero_totals(received_postal=1)
    assert snap.units["u-a"].in_progress == 1


def test_a_submitted_event_carrying_received_at_counts_the_receipt() -> None:
    snap = snap_at(
        [
            event(
                1,
                channel="online",
                received_at="2026-03-10T08:00:00+07:00",
                occurred_at="2026-03-10T08:00:00+07:00",
            ),
            event(2, channel="postal"),
        ],
        CLOCK,
    )
    assert totals(snap) == zero_totals(received_online_partial=1)


def test_submitted_only_is_not_received() -> None:
    snap = snap_at([event(1)], CLOCK)
    assert totals(snap) == zero_totals()
    assert snap.units["u-a"].in_progress == 0
    assert snap.processed == 1


# --- refusal -----------------------------------------------------------------------------


def test_refusal_counted_once_in_bucket_of_occurred_at() -> None:
    snap = snap_at(
        [
            event(3, occurred_at="2026-03-10T10:00:00+07:00"),
            event(3, occurred_at="2026-03-10T11:00:00+07:00"),
        ],
        "2026-03-10T11:30:00+07:00",
    )
    assert totals(snap) == zero_totals(refused=1)
    fig = snap.units["u-a"]
    # 1h = minutes (10:30, 11:30]: the first refusal (10:00) is the counted one
    assert window_count(fig, "1h", "refused") == 0
    assert window_count(fig, "24h", "refused") == 1
    assert window_count(fig, "today", "refused") == 1
    assert fig.in_progress == 0
    assert snap.processed == 2


def test_refusals_of_different_dossiers_each_count() -> None:
    snap = snap_at(
        [event(3, dossier_id="d-1"), event(3, dossier_id="d-2"), event(3, dossier_id="d-3")],
        CLOCK,
    )
    assert totals(snap) == zero_totals(refused=3)


# --- completion --------------------------------------------------------------------------


def test_completion_in_bucket_of_ended_at() -> None:
    snap = snap_at(
        [
            event(2, occurred_at="2026-03-10T08:00:00+07:00"),
            event(
                10,
                ended_at="2026-03-11T08:40:00+07:00",
                occurred_at="2026-03-12T09:12:00+07:00",
            ),
        ],
        "2026-03-12T10:00:00+07:00",
    )
    assert totals(snap) == zero_totals(received_in_person=1, completed_early=1)
    fig = snap.units["u-a"]
    # 24h = (11 March 10:00, 12 March 10:00]: ended 11 March 08:40 is out
    assert window_count(fig, "today", "completed:early") == 0
    assert window_count(fig, "24h", "completed:early") == 0
    assert window_count(fig, "7d", "completed:early") == 1
    assert window_count(fig, "month", "completed:early") == 1
    assert fig.in_progress == 0


def test_completion_without_ended_at_in_bucket_of_occurred_at() -> None:
    snap = snap_at(
        [
            event(2, occurred_at="2026-03-10T08:00:00+07:00"),
            event(10, occurred_at="2026-03-12T09:12:00+07:00"),
        ],
        "2026-03-12T10:00:00+07:00",
    )
    fig = snap.units["u-a"]
    for window in ("1h", "24h", "today", "7d", "month"):
        assert window_count(fig, window, "completed:early") == 1, window


def test_completion_counted_once_by_the_first_ending_event() -> None:
    snap = snap_at(
        [
            event(2),
            event(9, ended_at="2026-03-13T10:00:00+07:00", occurred_at="2026-03-13T10:00:00+07:00"),
            event(
                10,
                ended_at="2026-03-14T10:00:00+07:00",
                occurred_at="2026-03-14T10:00:00+07:00",
            ),
        ],
        "2026-03-15T00:00:00+07:00",
    )
    assert totals(snap) == zero_totals(received_in_person=1, completed_on_time=1)
    assert snap.processed == 3


@pytest.mark.parametrize("status", [7, 8, 9, 10, "withdrawn", "stopped", "decided", "returned"])
def test_every_ending_status_completes(status: int | str) -> None:
    snap = snap_at(
        [event(status, occurred_at="2026-03-11T09:00:00+07:00")], "2026-03-12T00:00:00+07:00"
    )
    assert totals(snap) == zero_totals(received_in_person=1, completed_early=1)


@pytest.mark.parametrize("status", [1, 2, 3, 4, 5, 6])
def test_other_statuses_do_not_complete(status: int) -> None:
    snap = snap_at([event(status)], CLOCK)
    assert (
        sum(totals(snap)[s] for s in ("completed:early", "completed:on_time", "completed:late"))
        == 0
    )


# --- timeliness --------------------------------------------------------------------------

D = "2026-03-12T17:00:00+07:00"


@pytest.mark.parametrize(
    ("ended", "due", "extra", "expected"),
    [
        pytest.param(D, D, {}, "on_time", id="end-exactly-at-due"),
        pytest.param("2026-03-12T17:00:01+07:00", D, {}, "late", id="one-second-after-due"),
        pytest.param("2026-03-12T17:00:00.001+07:00", D, {}, "late", id="1ms-after-due"),
        pytest.param("2026-03-12T16:59:59+07:00", D, {}, "on_time", id="one-second-before-due"),
        pytest.param("2026-03-12T00:00:00+07:00", D, {}, "on_time", id="local-midnight-same-day"),
        pytest.param("2026-03-11T23:59:59+07:00", D, {}, "early", id="last-second-of-day-before"),
        pytest.param("2026-03-10T10:00:00+07:00", D, {}, "early", id="days-before"),
        pytest.param(
            "2026-03-10T23:30:00+07:00",
            "2026-03-11T06:00:00+07:00",
            {},
            "early",
            id="same-utc-day-different-local-days",
        ),
        pytest.param(
            "2026-03-10T16:30:00Z", "2026-03-10T23:00:00Z", {}, "early", id="same-in-utc-text"
        ),
        pytest.param(
            "2026-03-11T06:00:00+07:00",
            "2026-03-11T08:00:00+07:00",
            {},
            "on_time",
            id="different-utc-days-same-local-day",
        ),
        pytest.param(
            "2026-03-10T23:00:00Z", "2026-03-11T01:00:00Z", {}, "on_time", id="same-in-utc-text2"
        ),
        pytest.param("2026-03-12T11:00:00+01:00", D, {}, "on_time", id="other-offset-equal"),
        pytest.param("2026-03-12T10:00:01Z", D, {}, "late", id="other-offset-after"),
        pytest.param("2026-03-11T10:00:00+07:00", D, {"supplements": [SUPP]}, "early", id="1-supp"),
        pytest.param(D, D, {"supplements": [SUPP]}, "on_time", id="1-supp-on-time"),
        pytest.param(
            "2026-03-11T10:00:00+07:00", D, {"supplements": [SUPP, SUPP2]}, "late", id="2-supps"
        ),
        pytest.param("2026-03-11T10:00:00+07:00", D, {"apology": True}, "late", id="apology"),
        pytest.param("2026-03-11T10:00:00+07:00", D, {"apology": False}, "early", id="no-apology"),
    ],
)
def test_timeliness(ended: str, due: str, extra: dict[str, Any], expected: str) -> None:
    doc = event(
        10,
        received_at="2026-03-10T08:00:00+07:00",
        due_at=due,
        ended_at=ended,
        occurred_at="2026-03-14T10:00:00+07:00",
        **extra,
    )
    snap = snap_at([doc], "2026-03-20T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, **{f"completed_{expected}": 1})


def _supp_events(n: int, **fields: Any) -> list[dict[str, Any]]:
    return [event(5, occurred_at=f"2026-03-10T1{i}:00:00+07:00", **fields) for i in range(n)]


EARLY_END = {"occurred_at": "2026-03-11T10:00:00+07:00", "due_at": D}


@pytest.mark.parametrize(
    ("middle", "completing", "expected"),
    [
        pytest.param(_supp_events(1), {"supplements": []}, "early", id="one-status-5"),
        pytest.param(_supp_events(2), {"supplements": []}, "late", id="two-status-5"),
        pytest.param(_supp_events(3), {}, "late", id="three-status-5-no-array"),
        pytest.param(_supp_events(1), {"supplements": [SUPP]}, "early", id="max-1-1"),
        pytest.param(_supp_events(1), {"supplements": [SUPP, SUPP2]}, "late", id="max-1-2"),
        pytest.param(_supp_events(2), {"supplements": [SUPP]}, "late", id="max-2-1"),
        pytest.param(_supp_events(0), {"supplements": [SUPP, SUPP2]}, "late", id="max-0-2"),
        pytest.param(
            [event(4, supplements=[SUPP, SUPP2])],
            {"supplements": []},
            "early",
            id="array-only-counts-on-completing-event",
        ),
        pytest.param(_supp_events(2, unit_id="u-b"), {}, "late", id="status-5-naming-another-unit"),
        pytest.param(
            [event(5, unit_id="u-zzz"), event(5, channel="fax")],
            {},
            "early",
            id="rejected-status-5-do-not-count",
        ),
    ],
)
def test_supplement_requests(
    middle: list[dict[str, Any]], completing: dict[str, Any], expected: str
) -> None:
    stream = [event(2), *middle, event(10, **EARLY_END, **completing)]
    snap = snap_at(stream, "2026-03-20T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, **{f"completed_{expected}": 1})


def test_duplicate_status_5_event_counts_once() -> None:
    supp = event(5, occurred_at="2026-03-10T10:00:00+07:00")
    snap = snap_at([event(2), supp, supp, event(10, **EARLY_END)], "2026-03-20T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, completed_early=1)
    assert snap.duplicate == 1


def test_status_5_after_completion_changes_nothing() -> None:
    stream = [event(2), event(10, **EARLY_END), *_supp_events(3)]
    snap = snap_at(stream, "2026-03-20T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, completed_early=1)
    assert snap.processed == 5


@pytest.mark.parametrize(
    ("stream_apology", "expected"),
    [
        pytest.param([True, False, False], "late", id="on-receipt"),
        pytest.param([False, True, False], "late", id="on-middle-event"),
        pytest.param([False, False, True], "late", id="on-completing-event"),
        pytest.param([False, False, False], "early", id="never"),
        pytest.param([None, None, None], "early", id="null"),
        pytest.param([OMIT, OMIT, OMIT], "early", id="absent"),
    ],
)
def test_apology(stream_apology: list[object], expected: str) -> None:
    a, b, c = stream_apology
    stream = [event(2, apology=a), event(4, apology=b), event(10, apology=c, **EARLY_END)]
    snap = snap_at(stream, "2026-03-20T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, **{f"completed_{expected}": 1})


def test_apology_after_completion_changes_nothing() -> None:
    stream = [event(2), event(10, **EARLY_END), event(4, apology=True)]
    snap = snap_at(stream, "2026-03-20T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, completed_early=1)


def test_apology_on_a_duplicate_or_a_rejected_message_is_ignored() -> None:
    first = event(4)
    dup = {**first, "apology": True}
    rejected = event(4, apology=True, channel="fax")
    stream = [event(2), first, dup, rejected, event(10, **EARLY_END)]
    snap = snap_at(stream, "2026-03-20T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, completed_early=1)
    assert (snap.processed, snap.duplicate, snap.rejected["schema"]) == (3, 1, 1)


def test_timeliness_uses_the_completing_events_due_at() -> None:
    # the status-4 event occurred later and moved the due date to the 20th, but the
    # completing event says the 12th: ended on the 13th is late
    stream = [
        event(2, occurred_at="2026-03-10T08:00:00+07:00", due_at=D),
        event(4, occurred_at="2026-03-13T12:00:00+07:00", due_at="2026-03-20T17:00:00+07:00"),
        event(10, occurred_at="2026-03-13T11:00:00+07:00", due_at=D),
    ]
    snap = snap_at(stream, "2026-03-21T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, completed_late=1)


# --- completion before receipt; events after completion ----------------------------------


def test_completion_seen_before_receipt() -> None:
    stream = [
        event(
            10,
            channel="online",
            received_at="2026-03-10T10:00:00+07:00",
            occurred_at="2026-03-11T09:00:00+07:00",
            due_at=D,
        ),
        event(
            2,
            channel="postal",
            received_at="2026-03-10T09:00:00+07:00",
            occurred_at="2026-03-10T09:00:00+07:00",
        ),
    ]
    snap = snap_at(stream, "2026-03-11T09:30:00+07:00")
    assert totals(snap) == zero_totals(received_online_partial=1, completed_early=1)
    fig = snap.units["u-a"]
    # receipt in the bucket of the completing event's received_at (10th 10:00): 24h is
    # (10th 09:30, 11th 09:30]; the later receipt event's 09:00 would be out
    assert window_count(fig, "24h", "received:online_partial") == 1
    assert window_count(fig, "24h", "received:postal") == 0
    assert window_count(fig, "1h", "completed:early") == 1
    assert fig.in_progress == 0
    assert snap.processed == 2


def test_events_of_a_completed_dossier_count_as_processed_and_change_nothing() -> None:
    stream = [
        event(2),
        event(10, **EARLY_END),
        event(4, due_at="2026-03-10T09:00:00+07:00", apology=True),
        event(5),
        event(3),
        event(10, ended_at="2026-03-19T09:00:00+07:00", occurred_at="2026-03-19T09:00:00+07:00"),
        event(2, channel="postal", received_at="2026-03-11T08:00:00+07:00"),
    ]
    snap = snap_at(stream, "2026-03-20T00:00:00+07:00")
    assert totals(snap) == zero_totals(received_in_person=1, completed_early=1)
    fig = snap.units["u-a"]
    assert (fig.in_progress, fig.overdue) == (0, 0)
    assert (snap.processed, snap.duplicate, sum(snap.rejected.values())) == (7, 0, 0)


# --- unit of a dossier -------------------------------------------------------------------


def _unit_totals(snap: Any, unit: str) -> dict[str, int]:
    fig = snap.units.get(unit)
    return zero_totals() if fig is None else dict(fig.totals)


def test_dossier_stays_with_its_first_unit() -> None:
    stream = [event(2, unit_id="u-a"), event(4, unit_id="u-b")]
    snap = snap_at(stream, "2026-03-14T00:00:00+07:00")
    assert snap.units["u-a"].in_progress == 1
    assert snap.units["u-a"].overdue == 1  # due 13th 17:00
    b = snap.units.get("u-b")
    assert b is None or (b.in_progress, b.overdue) == (0, 0)

    stream.append(event(10, unit_id="u-b", **EARLY_END))
    snap = snap_at(stream, "2026-03-14T00:00:00+07:00")
    assert _unit_totals(snap, "u-a") == zero_totals(received_in_person=1, completed_early=1)
    assert _unit_totals(snap, "u-b") == zero_totals()
    assert snap.units["u-a"].in_progress == 0


def test_first_event_decides_even_before_receipt() -> None:
    stream = [
        event(1, unit_id="u-prov", occurred_at="2026-03-10T07:00:00+07:00"),
        event(2, unit_id="u-a"),
        event(10, unit_id="u-b", **EARLY_END),
    ]
    snap = snap_at(stream, "2026-03-20T00:00:00+07:00")
    assert _unit_totals(snap, "u-prov") == zero_totals(received_in_person=1, completed_early=1)
    assert _unit_totals(snap, "u-a") == zero_totals()
    assert _unit_totals(snap, "u-b") == zero_totals()


def test_a_rejected_first_message_does_not_decide_the_unit() -> None:
    stream = [event(2, unit_id="u-b", channel="fax"), event(2, unit_id="u-a")]
    snap = snap_at(stream, CLOCK)
    assert _unit_totals(snap, "u-a") == zero_totals(received_in_person=1)
    assert "u-b" not in snap.units


def test_refusal_counted_for_first_unit() -> None:
    stream = [event(1, unit_id="u-b"), event(3, unit_id="u-a")]
    snap = snap_at(stream, CLOCK)
    assert _unit_totals(snap, "u-b") == zero_totals(refused=1)
    assert _unit_totals(snap, "u-a") == zero_totals()


# --- in progress and overdue -------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "overdue"),
    [
        ("2026-03-12T16:59:59+07:00", 0),
        ("2026-03-12T17:00:00+07:00", 0),  # due == clock is not overdue
        ("2026-03-12T17:00:00.5+07:00", 1),
        ("2026-03-12T17:00:01+07:00", 1),
        ("2026-04-30T00:00:00+07:00", 1),
    ],
)
def test_overdue_is_strictly_before_the_clock(clock: str, overdue: int) -> None:
    snap = snap_at([event(2, due_at=D)], clock)
    fig = snap.units["u-a"]
    assert (fig.in_progress, fig.overdue) == (1, overdue)


def test_in_progress_and_overdue_over_several_dossiers() -> None:
    stream = [
        event(2, dossier_id="d-1", due_at="2026-03-11T17:00:00+07:00"),
        event(2, dossier_id="d-2", due_at="2026-03-12T17:00:00+07:00"),
        event(2, dossier_id="d-3", due_at="2026-03-14T17:00:00+07:00"),
        event(2, dossier_id="d-4", due_at="2026-03-11T17:00:00+07:00"),
        event(
            10,
            dossier_id="d-4",
            due_at="2026-03-11T17:00:00+07:00",
            occurred_at="2026-03-12T09:00:00+07:00",
        ),
        event(3, dossier_id="d-5"),
        event(1, dossier_id="d-6"),
        event(4, dossier_id="d-7", unit_id="u-b", due_at="2026-03-11T17:00:00+07:00"),
    ]
    snap = snap_at(stream, "2026-03-12T18:00:00+07:00")
    a, b = snap.units["u-a"], snap.units["u-b"]
    assert (a.in_progress, a.overdue) == (3, 2)
    assert (b.in_progress, b.overdue) == (1, 1)
    assert dict(a.totals) == zero_totals(received_in_person=4, completed_late=1, refused=1)


A_EARLY = {"occurred_at": "2026-03-10T09:00:00+07:00", "due_at": "2026-03-12T17:00:00+07:00"}
B_LATER = {"occurred_at": "2026-03-11T10:00:00+07:00", "due_at": "2026-03-20T17:00:00+07:00"}
B_EARLIER_DUE = {"occurred_at": "2026-03-11T10:00:00+07:00", "due_at": "2026-03-12T17:00:00+07:00"}
A_LATE_DUE = {"occurred_at": "2026-03-10T09:00:00+07:00", "due_at": "2026-03-20T17:00:00+07:00"}
TIE_12 = {"occurred_at": "2026-03-11T10:00:00+07:00", "due_at": "2026-03-12T17:00:00+07:00"}
TIE_20 = {"occurred_at": "2026-03-11T10:00:00+07:00", "due_at": "2026-03-20T17:00:00+07:00"}


@pytest.mark.parametrize(
    ("first", "second", "overdue"),
    [
        pytest.param((2, A_EARLY), (5, B_LATER), 0, id="rescheduled-in-order"),
        pytest.param((5, B_LATER), (2, A_EARLY), 0, id="rescheduled-out-of-order"),
        pytest.param((2, A_LATE_DUE), (5, B_EARLIER_DUE), 1, id="brought-forward-in-order"),
        pytest.param((5, B_EARLIER_DUE), (2, A_LATE_DUE), 1, id="brought-forward-out-of-order"),
        pytest.param((4, TIE_12), (5, TIE_20), 0, id="tie-last-processed-20th"),
        pytest.param((4, TIE_20), (5, TIE_12), 1, id="tie-last-processed-12th"),
    ],
)
def test_due_time_from_latest_occurred_at(
    first: tuple[int, dict[str, str]], second: tuple[int, dict[str, str]], overdue: int
) -> None:
    stream = [event(first[0], **first[1]), event(second[0], **second[1])]
    snap = snap_at(stream, "2026-03-15T12:00:00+07:00")
    fig = snap.units["u-a"]
    assert (fig.in_progress, fig.overdue) == (1, overdue)


def test_due_time_ignores_events_without_due_at() -> None:
    stream = [
        event(2, occurred_at="2026-03-10T09:00:00+07:00", due_at="2026-03-12T17:00:00+07:00"),
        event(1, occurred_at="2026-03-11T09:00:00+07:00"),
        event(3, occurred_at="2026-03-11T10:00:00+07:00"),
    ]
    snap = snap_at(stream, "2026-03-15T12:00:00+07:00")
    assert (snap.units["u-a"].in_progress, snap.units["u-a"].overdue) == (1, 1)


def test_received_without_any_due_is_in_progress_never_overdue() -> None:
    stream = [event(1, received_at="2026-03-10T08:00:00+07:00")]
    snap = snap_at(stream, "2027-01-01T00:00:00+07:00")
    fig = snap.units["u-a"]
    assert (fig.in_progress, fig.overdue) == (1, 0)
    assert dict(fig.totals) == zero_totals(received_in_person=1)


def test_completion_leaves_in_progress_and_overdue() -> None:
    stream = [event(2, due_at=D), event(10, due_at=D, occurred_at="2026-03-14T09:00:00+07:00")]
    snap = snap_at(stream, "2026-03-15T00:00:00+07:00")
    assert (snap.units["u-a"].in_progress, snap.units["u-a"].overdue) == (0, 0)
    assert dict(snap.units["u-a"].totals) == zero_totals(received_in_person=1, completed_late=1)


# --- duplicates and the message balance ---------------------------------------------------


def test_exact_duplicate_is_counted_and_has_no_other_effect() -> None:
    raw = orjson.dumps(event(2))
    snap = snap_at([raw, raw, raw], CLOCK)
    assert (snap.processed, snap.duplicate) == (1, 2)
    assert totals(snap) == zero_totals(received_in_person=1)
    assert snap.units["u-a"].in_progress == 1


def test_duplicate_with_different_content_has_no_effect() -> None:
    first = event(2, due_at=D)
    dup = {
        **first,
        "status": 10,
        "apology": True,
        "occurred_at": "2026-03-11T09:00:00+07:00",
    }
    snap = snap_at([first, dup], "2026-03-11T10:00:00+07:00")
    assert (snap.processed, snap.duplicate) == (1, 1)
    assert totals(snap) == zero_totals(received_in_person=1)
    assert snap.units["u-a"].in_progress == 1
    assert snap.watermark == ts("2026-03-10T09:00:00+07:00")


def test_the_same_event_id_on_two_dossiers_is_accepted_twice() -> None:
    # EVENTS.md v2: "A message whose event_id was already accepted for the same
    # dossier_id is a duplicate" -- only for the same dossier. Two dossiers, each
    # received in person by an event with the id "ev-shared": two receipts, no duplicate.
    one = event(2, event_id="ev-shared", dossier_id="d-1", due_at=D)
    two = {**one, "dossier_id": "d-2", "occurred_at": "2026-03-10T10:00:00+07:00"}
    snap = snap_at([one, two, two], "2026-03-11T10:00:00+07:00")
    assert (snap.processed, snap.duplicate) == (2, 1)
    assert totals(snap) == zero_totals(received_in_person=2)
    assert snap.units["u-a"].in_progress == 2


def test_duplicate_of_a_rejected_message_is_rejected_again() -> None:
    bad = orjson.dumps(event(2, unit_id="u-zzz"))
    snap = snap_at([bad, bad, bad], CLOCK)
    assert (snap.processed, snap.duplicate, snap.rejected["unknown_unit"]) == (0, 0, 3)
    assert snap.units == {}


def test_a_rejected_message_does_not_reserve_its_event_id() -> None:
    good = event(2, event_id="ev-x")
    bad = {**good, "channel": "fax"}
    snap = snap_at([bad, good, good, bad], CLOCK)
    assert (snap.processed, snap.duplicate, snap.rejected["schema"]) == (1, 1, 2)
    assert totals(snap) == zero_totals(received_in_person=1)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 2000])
def test_every_message_is_counted_exactly_once(
    batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offline, "BATCH_SIZE", batch_size)
    e1, e2, e3 = event(2, dossier_id="d-1"), event(3, dossier_id="d-2"), event(4, dossier_id="d-1")
    stream: list[bytes | dict[str, Any]] = [
        e1,
        b"x" * 70_000,
        e2,
        e1,
        b"[1, 2]",
        event(2, dossier_id=OMIT),
        e3,
        event(0),
        e2,
        event(2, unit_id="u-c"),
        event(2, due_at="2026-03-01T00:00:00+07:00"),
        event(10, dossier_id="d-1", occurred_at="2026-03-11T09:00:00+07:00"),
        e1,
        b"not json",
    ]
    store = run(stream)
    snap = store.snapshot(ts("2026-03-12T00:00:00+07:00"))
    assert snap.processed == 4
    assert snap.duplicate == 3
    assert snap.rejected == {
        "too_large": 1,
        "malformed_json": 2,
        "schema": 1,
        "unknown_status": 1,
        "unknown_unit": 1,
        "invalid_times": 1,
    }
    assert snap.processed + snap.duplicate + sum(snap.rejected.values()) == len(stream)
    assert totals(snap) == zero_totals(received_in_person=1, completed_early=1, refused=1)


def test_event_ids_match_only_whole_digests() -> None:
    """The kept ids are 8-byte digests end to end: a digest that appears across two of
    them (at an offset that is not a multiple of 8) is not one of them."""
    from ioc_monitor.rules import DossierState

    first, second = bytes(range(8)), bytes(range(8, 16))
    state = DossierState(unit="u-a", events=first + second)
    straddling = bytes(range(4, 12))  # the last 4 bytes of one and the first 4 of the next
    assert state.has_event(first) and state.has_event(second)
    assert not state.has_event(straddling)
    # Found misaligned first, then aligned further on: still a match.
    state.events = first + second + straddling
    assert state.has_event(straddling)
    assert DossierState.decode(state.encode()).events == state.events


_TIMES = st.one_of(st.none(), st.floats(min_value=0, max_value=4.1e9, allow_nan=False))
_TEXTS = st.one_of(st.none(), st.text(alphabet="ab.|%7C25", min_size=1, max_size=12))


@given(
    unit=st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True),
    flags=st.lists(st.booleans(), min_size=8, max_size=8),
    times=st.tuples(_TIMES, _TIMES, _TIMES, _TIMES),
    supplements=st.integers(min_value=0, max_value=50),
    visits=st.integers(min_value=0, max_value=50),
    events=st.binary(max_size=64).map(lambda b: b[: len(b) - len(b) % 8]),
    texts=st.tuples(_TEXTS, _TEXTS),
)
def test_a_dossier_state_survives_the_store(
    unit: str,
    flags: list[bool],
    times: tuple[float | None, ...],
    supplements: int,
    visits: int,
    events: bytes,
    texts: tuple[str | None, str | None],
) -> None:
    """decode(encode(s)) is s; a completed dossier keeps its unit, flags, end and ids
    (an open one has no end)."""
    from ioc_monitor.rules import DossierState

    received, completed, refused, apology, fee, paid, rated, _ = flags
    due_at, due_occurred_at, completed_at, received_at = times
    state = DossierState(
        unit=unit,
        received=received,
        completed=completed,
        refused=refused,
        apology=apology,
        due_at=due_at,
        due_occurred_at=due_occurred_at,
        supplement_events=supplements,
        events=events,
        fee=fee,
        paid=paid,
        rated=rated,
        visits=visits,
        received_at=received_at,
        procedure=texts[0],
        agency=texts[1],
    )
    if completed:
        state = DossierState(
            unit=unit,
            received=received,
            completed=True,
            refused=refused,
            apology=apology,
            completed_at=completed_at,
            events=events,
            fee=fee,
            paid=paid,
            rated=rated,
        )
    assert DossierState.decode(state.encode()) == state
