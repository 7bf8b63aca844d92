"""KPIS.md v2 rules, table-driven: digitised, with fee, paid online, multi-visit, ratings.

Every expected number is worked out by hand from KPIS.md v2 "Per-dossier state".
Times are local (+07:00); the clock is 2026-03-20T12:00+07:00 unless said otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.ioc_monitor.ioc_testkit import event, snap_at, window_count, zero_totals

CLOCK = "2026-03-20T12:00:00+07:00"
RECEIVED = "2026-03-10T08:00:00+07:00"
DUE = "2026-03-13T17:00:00+07:00"
ENDED = "2026-03-12T10:00:00+07:00"  # a day before the due date: early


def _life(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    """Events of dossier d-1: each step is (status, fields) merged into a valid event."""
    out = []
    for n, step in enumerate(steps):
        fields = dict(step)
        status = fields.pop("status")
        fields.setdefault("occurred_at", f"2026-03-1{n}T09:00:00+07:00")
        fields.setdefault("received_at", RECEIVED)
        fields.setdefault("due_at", DUE)
        out.append(event(status, **fields))
    return out


def _done(**fields: Any) -> dict[str, Any]:
    """The completing event: status 10, ended on ENDED (early against DUE)."""
    return {"status": 10, "ended_at": ENDED, "occurred_at": "2026-03-12T10:30:00+07:00", **fields}


CASES: list[tuple[str, list[dict[str, Any]], dict[str, int]]] = [
    (
        "digitised on the receipt event counts",
        _life({"status": 2, "digitized": True}),
        {"received:in_person": 1, "digitized": 1},
    ),
    (
        "a later digitized: true does not count (judged at receipt)",
        _life({"status": 2}, {"status": 4, "digitized": True}),
        {"received:in_person": 1},
    ),
    (
        "digitized: false on the receipt, true later: not digitised",
        _life({"status": 2, "digitized": False}, {"status": 5, "digitized": True}),
        {"received:in_person": 1},
    ),
    (
        "fee through a status-6 event only",
        _life({"status": 2}, {"status": 6}, _done()),
        {"received:in_person": 1, "completed:early": 1, "completed_with_fee": 1},
    ),
    (
        "fee_required on the receipt, paid at the counter",
        _life({"status": 2, "fee_required": True}, _done(paid_online=False)),
        {"received:in_person": 1, "completed:early": 1, "completed_with_fee": 1},
    ),
    (
        "paid_online without fee_required counts as with fee and paid online",
        _life({"status": 2}, _done(paid_online=True)),
        {
            "received:in_person": 1,
            "completed:early": 1,
            "completed_with_fee": 1,
            "paid_online": 1,
        },
    ),
    (
        "fee_required: false everywhere: no fee",
        _life({"status": 2, "fee_required": False}, _done(fee_required=False)),
        {"received:in_person": 1, "completed:early": 1},
    ),
    (
        "a fee or payment only after the completion is not counted",
        _life({"status": 2}, _done(), {"status": 10, "fee_required": True, "paid_online": True}),
        {"received:in_person": 1, "completed:early": 1},
    ),
    (
        "the largest visits up to completion: 1, 3, 2 is multi-visit",
        _life({"status": 2, "visits": 1}, {"status": 4, "visits": 3}, _done(visits=2)),
        {"received:in_person": 1, "completed:early": 1, "multi_visit": 1},
    ),
    (
        "visits 3 on the completing event itself counts",
        _life({"status": 2, "visits": 1}, _done(visits=3)),
        {"received:in_person": 1, "completed:early": 1, "multi_visit": 1},
    ),
    (
        "two visits up to completion, five after: not multi-visit",
        _life({"status": 2, "visits": 2}, _done(visits=2), {"status": 10, "visits": 5}),
        {"received:in_person": 1, "completed:early": 1},
    ),
    (
        "a rating before completion counts",
        _life({"status": 2}, {"status": 4, "rating": "unsatisfied"}),
        {"received:in_person": 1, "rated:unsatisfied": 1},
    ),
    (
        "only the first rating counts",
        _life(
            {"status": 2},
            _done(rating="satisfied"),
            {"status": 10, "rating": "unsatisfied", "occurred_at": "2026-03-15T09:00:00+07:00"},
        ),
        {"received:in_person": 1, "completed:early": 1, "rated:satisfied": 1},
    ),
    (
        "a rating after completion counts",
        _life({"status": 2}, _done(), {"status": 10, "rating": "satisfied"}),
        {"received:in_person": 1, "completed:early": 1, "rated:satisfied": 1},
    ),
    (
        "a refused dossier's rating counts",
        [
            event(3, occurred_at="2026-03-11T09:00:00+07:00"),
            event(3, occurred_at="2026-03-11T10:00:00+07:00", rating="unsatisfied"),
        ],
        {"refused": 1, "rated:unsatisfied": 1},
    ),
]


@pytest.mark.parametrize(("stream", "counts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_v2_counts(stream: list[dict[str, Any]], counts: dict[str, int]) -> None:
    fig = snap_at(stream, CLOCK).units["u-a"]
    assert dict(fig.totals) == zero_totals(**counts)
    assert dict(fig.windows["month"]) == counts  # every time above is in March 2026


def test_a_repeated_rating_event_is_a_duplicate_and_counts_once() -> None:
    rating = event(10, occurred_at="2026-03-15T09:00:00+07:00", ended_at=ENDED, rating="satisfied")
    stream = [*_life({"status": 2}, _done()), rating, rating]
    store_snap = snap_at(stream, CLOCK)
    assert store_snap.units["u-a"].totals["rated:satisfied"] == 1
    assert store_snap.duplicate == 1
    assert store_snap.processed == 3


def test_a_rating_after_completion_is_counted_in_its_own_bucket() -> None:
    """Completed on 2026-03-12, rated on 2026-04-02: the rating is April's, not March's."""
    stream = [
        *_life({"status": 2}, _done()),
        event(
            10,
            occurred_at="2026-04-02T09:00:00+07:00",
            received_at=RECEIVED,
            due_at=DUE,
            ended_at=ENDED,
            rating="unsatisfied",
        ),
    ]
    fig = snap_at(stream, "2026-04-02T12:00:00+07:00").units["u-a"]
    assert window_count(fig, "month", "rated:unsatisfied") == 1
    assert window_count(fig, "month", "completed:early") == 0
    assert window_count(fig, "quarter", "completed:early") == 0  # Q1 ended
    assert window_count(fig, "year", "completed:early") == 1
    assert window_count(fig, "today", "rated:unsatisfied") == 1
    march = snap_at(stream, "2026-03-31T23:59:00+07:00").units["u-a"]
    assert window_count(march, "month", "rated:unsatisfied") == 0  # t > T: not yet
    assert window_count(march, "month", "completed:early") == 1


def test_digitised_and_completion_series_use_their_own_times() -> None:
    """Digitised at received_at (Feb), completion counts at the end time (March)."""
    stream = [
        event(
            2,
            occurred_at="2026-02-27T09:00:00+07:00",
            received_at="2026-02-27T08:00:00+07:00",
            due_at=DUE,
            digitized=True,
            fee_required=True,
        ),
        event(
            9,
            occurred_at="2026-03-02T09:00:00+07:00",
            received_at="2026-02-27T08:00:00+07:00",
            due_at=DUE,
            visits=4,
        ),
    ]
    fig = snap_at(stream, CLOCK).units["u-a"]
    assert window_count(fig, "month", "digitized") == 0
    assert window_count(fig, "quarter", "digitized") == 1
    assert window_count(fig, "month", "completed_with_fee") == 1
    assert window_count(fig, "month", "multi_visit") == 1
    assert window_count(fig, "30d", "digitized") == 1  # 2026-02-27 is within 30 days


def test_due_soon_counts_open_dossiers_due_within_24h_and_72h() -> None:
    """At T = 03-20 12:00: due 03-19 (overdue), 03-20 17:00 (24h), 03-21 12:00 (24h, the
    bound is included), 03-22 17:00 (72h only), 03-24 (neither); one completed, not open."""
    dues = [
        "2026-03-19T17:00:00+07:00",
        "2026-03-20T17:00:00+07:00",
        "2026-03-21T12:00:00+07:00",
        "2026-03-22T17:00:00+07:00",
        "2026-03-24T17:00:00+07:00",
    ]
    stream = [
        event(2, dossier_id=f"d-{i}", occurred_at="2026-03-18T09:00:00+07:00", due_at=due)
        for i, due in enumerate(dues)
    ]
    stream.append(
        event(
            10,
            dossier_id="d-done",
            occurred_at="2026-03-19T09:00:00+07:00",
            due_at="2026-03-20T17:00:00+07:00",
        )
    )
    fig = snap_at(stream, CLOCK).units["u-a"]
    assert fig.in_progress == 5
    assert fig.overdue == 1
    assert dict(fig.due_soon) == {"24h": 2, "72h": 3}
