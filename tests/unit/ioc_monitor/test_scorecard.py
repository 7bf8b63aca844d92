"""The Decision 766 scorecard and the v2 ratios (KPIS.md v2), numbers worked by hand.

The pure formulas are checked at their caps first, then one hand-worked unit through the
whole exposition (``ioc kpi --format prometheus``'s renderer), then the calendar windows
across their local-time ends.
"""

from __future__ import annotations

import pytest

from ioc_monitor.kpis import score_share, scorecard
from tests.unit.ioc_monitor.ioc_testkit import event, expo, key, scorecard_unit_stream, snap_at

UA = {"unit": "u-a", "level": "commune"}


def _counts(
    *,
    R: int = 0,
    O: int = 0,  # noqa: E741 - the letters of KPIS.md
    D: int = 0,
    G: int = 0,
    L: int = 0,
    F: int = 0,
    P: int = 0,
    U: int = 0,
) -> dict[str, int]:
    """Window counts with received R (online O, digitised D), completed G + L, fee F, paid P."""
    return {
        "received:in_person": R - O,
        "received:online_full": O,
        "digitized": D,
        "completed:on_time": G,
        "completed:late": L,
        "completed_with_fee": F,
        "paid_online": P,
        "rated:unsatisfied": U,
    }


@pytest.mark.parametrize(
    ("counts", "component", "points"),
    [
        # online: 12 × min(1, (O/R) / 0.5): full at 50 %
        (_counts(R=10, O=5), "online", 12.0),
        (_counts(R=10, O=9), "online", 12.0),
        (_counts(R=4, O=1), "online", 6.0),
        (_counts(R=4, O=0), "online", 0.0),
        # digitisation: 2 × min(1, (D/R) / 0.8): full at 80 %
        (_counts(R=10, D=8), "digitisation", 2.0),
        (_counts(R=10, D=10), "digitisation", 2.0),
        (_counts(R=10, D=4), "digitisation", 1.0),
        # payment: 6 × P/F, linear
        (_counts(F=4, P=1), "payment", 1.5),
        (_counts(F=4, P=4), "payment", 6.0),
        (_counts(F=4, P=0), "payment", 0.0),
        # satisfaction: 6 × min(1, max(0, 1 − (L+U)/C) / 0.9): full at 90 %, never below 0
        (_counts(G=9, L=1), "satisfaction", 6.0),
        (_counts(G=10), "satisfaction", 6.0),
        (_counts(G=19, L=1, U=1), "satisfaction", 6.0),  # 1 − 2/20 = 0.9: full
        (_counts(G=18, L=1, U=1), "satisfaction", 6 * (1 - 2 / 19) / 0.9),  # just below
        (_counts(G=16, L=4, U=7), "satisfaction", 3.0),  # 1 − 11/20 = 0.45 → 0.45/0.9 × 6
        (_counts(G=1, L=1, U=3), "satisfaction", 0.0),  # (L + U) / C = 2 → max 0
        # timeliness: 20 × (G + I − V) / (C + I), here with I = V = 0
        (_counts(G=3, L=1), "timeliness", 15.0),
    ],
)
def test_components_at_and_around_their_caps(
    counts: dict[str, int], component: str, points: float
) -> None:
    assert scorecard(counts, 0, 0)[component] == pytest.approx(points)


def test_timeliness_counts_in_progress_within_time() -> None:
    """G = 2, C = 3, I = 5 of which V = 1 overdue: 20 × (2 + 5 − 1) / (3 + 5) = 15."""
    assert scorecard(_counts(G=2, L=1), 5, 1)["timeliness"] == pytest.approx(15.0)


def test_timeliness_with_only_dossiers_in_progress() -> None:
    """C = 0, I = 4, V = 4: 20 × (0 + 4 − 4) / 4 = 0, exposed (C + I > 0)."""
    assert scorecard({}, 4, 4) == {"timeliness": 0.0}


@pytest.mark.parametrize(
    ("counts", "in_progress", "absent"),
    [
        ({}, 0, {"timeliness", "online", "payment", "digitisation", "satisfaction"}),
        (_counts(R=3, O=1), 0, {"timeliness", "payment", "satisfaction"}),  # C + I = 0, F = 0
        (_counts(G=1), 0, {"online", "digitisation", "payment"}),  # R = 0, F = 0
        ({"rated:unsatisfied": 2}, 1, {"online", "digitisation", "payment", "satisfaction"}),
    ],
)
def test_a_component_with_denominator_zero_is_absent(
    counts: dict[str, int], in_progress: int, absent: set[str]
) -> None:
    points = scorecard(counts, in_progress, 0)
    assert not absent & points.keys()
    assert points.keys() | absent == {
        "timeliness",
        "online",
        "payment",
        "digitisation",
        "satisfaction",
    }


def test_score_share_divides_by_the_weights_of_the_exposed_components() -> None:
    assert score_share({"online": 6.0, "digitisation": 2.0}) == pytest.approx(8 / 14)
    assert score_share({}) is None


# --- one unit, by hand, through the exposition -----------------------------------------

CLOCK = "2026-03-20T12:00:00+07:00"


def test_exposition_of_one_unit_worked_by_hand() -> None:
    """The seven dossiers of :func:`scorecard_unit_stream`, at 2026-03-20 12:00 local.

    March: R = 5 (O = 2, D = 2), C = 2 (G = 1, L = 1), F = 2, P = 1, U = 1, satisfied 1,
    multi-visit 1; now I = 3, V = 1; due within 24h 1, within 72h 2.

    Month scorecard: timeliness 20 × (1 + 3 − 1) / (2 + 3) = 12; online 12 × min(1, 0.4 /
    0.5) = 9.6; payment 6 × 1/2 = 3; digitisation 2 × min(1, 0.4 / 0.8) = 1; satisfaction
    6 × min(1, max(0, 1 − 2/2) / 0.9) = 0. Quarter and year add d6 (R = 6, C = 3, G = 2):
    timeliness 20 × (2 + 3 − 1) / (3 + 3) = 13.33…, online 12 × (2/6) / 0.5 = 8,
    digitisation 2 × (2/6) / 0.8 = 0.8333…, satisfaction 6 × (1 − 2/3) / 0.9 = 2.222….
    """
    s = expo(snap_at(scorecard_unit_stream(), CLOCK))

    def value(name: str, **labels: str) -> float:
        return float(s[key(name, **UA, **labels)])

    assert value("ioc_dossiers_in_progress") == 3
    assert value("ioc_dossiers_overdue") == 1
    assert value("ioc_dossiers_due_soon", within="24h") == 1
    assert value("ioc_dossiers_due_soon", within="72h") == 2
    assert value("ioc_dossiers_digitized_total") == 2
    assert value("ioc_dossiers_completed_with_fee_total") == 2
    assert value("ioc_dossiers_paid_online_total") == 1
    assert value("ioc_dossiers_multi_visit_total") == 1
    assert value("ioc_dossiers_rated_total", rating="satisfied") == 1
    assert value("ioc_dossiers_rated_total", rating="unsatisfied") == 1
    month = {"window": "month"}
    assert value("ioc_window_dossiers_digitized", **month) == 2
    assert value("ioc_window_dossiers_completed_with_fee", **month) == 2
    assert value("ioc_window_dossiers_paid_online", **month) == 1
    assert value("ioc_window_dossiers_multi_visit", **month) == 1
    assert value("ioc_window_dossiers_rated", **month, rating="unsatisfied") == 1
    for name, ratio in [
        ("ioc_on_time_ratio", 0.5),
        ("ioc_online_ratio", 0.4),
        ("ioc_digitized_ratio", 0.4),
        ("ioc_online_payment_ratio", 0.5),
        ("ioc_multi_visit_ratio", 0.5),
        ("ioc_satisfaction_ratio", 0.5),
    ]:
        assert value(name, **month) == pytest.approx(ratio), name
    expected = {
        "month": {
            "timeliness": 12.0,
            "online": 9.6,
            "payment": 3.0,
            "digitisation": 1.0,
            "satisfaction": 0.0,
        },
        "quarter": {
            "timeliness": 40 / 3,
            "online": 8.0,
            "payment": 3.0,
            "digitisation": 2 * (2 / 6) / 0.8,
            "satisfaction": 6 * (1 / 3) / 0.9,
        },
    }
    expected["year"] = expected["quarter"]
    for window, components in expected.items():
        for component, points in components.items():
            got = value("ioc_scorecard_points", window=window, component=component)
            assert got == pytest.approx(points), (window, component)
    scorecard_series = [k for k in s if k[0] == "ioc_scorecard_points" and ("unit", "u-a") in k[1]]
    assert len(scorecard_series) == 15


def test_no_rating_no_fee_means_no_such_ratio_and_no_payment_component() -> None:
    stream = [event(2, occurred_at="2026-03-18T08:00:00+07:00")]
    s = expo(snap_at(stream, CLOCK))
    names = {name for name, labels in s if ("unit", "u-a") in labels}
    assert "ioc_satisfaction_ratio" not in names
    assert "ioc_online_payment_ratio" not in names
    assert "ioc_multi_visit_ratio" not in names  # nothing completed
    components = {dict(labels)["component"] for name, labels in s if name == "ioc_scorecard_points"}
    assert components == {"timeliness", "online", "digitisation"}  # C + I = 1, R = 1


@pytest.mark.parametrize(
    ("clock", "windows"),
    [
        # ended 2026-03-31 23:30 local (16:30 UTC): in March, Q1 and 2026 until midnight
        ("2026-03-31T23:59:00+07:00", {"month", "quarter", "year"}),
        ("2026-04-01T00:10:00+07:00", {"year"}),
        # ended 2026-12-31 23:30 local: on 2027-01-01 00:10 local no window holds it
        ("2027-01-01T00:10:00+07:00", set()),
    ],
)
def test_scorecard_windows_follow_local_calendar_ends(clock: str, windows: set[str]) -> None:
    end = "2026-12-31T23:30:00+07:00" if clock.startswith("2027") else "2026-03-31T23:30:00+07:00"
    stream = [
        event(2, occurred_at="2026-03-01T08:00:00+07:00", received_at="2026-03-01T08:00:00+07:00",
              due_at="2027-02-01T17:00:00+07:00"),
        event(9, occurred_at=end, received_at="2026-03-01T08:00:00+07:00",
              due_at="2027-02-01T17:00:00+07:00"),
    ]  # fmt: skip
    s = expo(snap_at(stream, clock))
    holding = {
        dict(labels)["window"]
        for name, labels in s
        if name == "ioc_scorecard_points" and dict(labels)["component"] == "timeliness"
    }
    assert holding == windows
