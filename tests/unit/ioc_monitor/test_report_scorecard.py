"""The scorecard view of ``ioc kpi``: ranking within a level, JSON and the table.

u-a has the hand-worked month of :func:`scorecard_unit_stream` (12 + 9.6 + 3 + 1 + 0 =
25.6 points of 46 exposed weight); u-b, in the same level, has one early completion,
received in person and not digitised, in March: timeliness 20, online 0, digitisation
0, satisfaction 6 (C = 1, nothing late or unsatisfied), no payment: 26 of 40.
"""

from __future__ import annotations

from io import StringIO

import orjson
import pytest
from rich.console import Console

from ioc_monitor.report import board, scorecard_ranking, to_json
from ioc_monitor.snapshot import Snapshot
from tests.unit.ioc_monitor.ioc_testkit import REGISTRY, event, scorecard_unit_stream, snap_at

CLOCK = "2026-03-20T12:00:00+07:00"


def _snap() -> Snapshot:
    u_b = [
        event(2, unit_id="u-b", dossier_id="b1", occurred_at="2026-03-02T08:00:00+07:00",
              received_at="2026-03-02T08:00:00+07:00", due_at="2026-03-06T17:00:00+07:00"),
        event(10, unit_id="u-b", dossier_id="b1", occurred_at="2026-03-04T08:00:00+07:00",
              received_at="2026-03-02T08:00:00+07:00", due_at="2026-03-06T17:00:00+07:00"),
    ]  # fmt: skip
    return snap_at([*scorecard_unit_stream(), *u_b], CLOCK)


def test_units_are_ranked_within_their_level_by_share_of_exposed_weights() -> None:
    ranking = scorecard_ranking(_snap(), REGISTRY, "month")
    assert list(ranking) == ["commune"]
    first, second = ranking["commune"]
    assert (first["unit"], first["rank"], first["weights"]) == ("u-b", 1, 40)
    assert first["total"] == pytest.approx(26.0)
    assert first["share"] == pytest.approx(26 / 40)
    assert first["components"] == pytest.approx(
        {"timeliness": 20.0, "online": 0.0, "digitisation": 0.0, "satisfaction": 6.0}
    )
    assert (second["unit"], second["rank"], second["weights"]) == ("u-a", 2, 46)
    assert second["total"] == pytest.approx(25.6)
    assert second["share"] == pytest.approx(25.6 / 46)
    assert second["name"] == "Bo phan mot cua xa A"


def test_json_carries_the_ratios_the_scorecard_and_the_ranking() -> None:
    doc = orjson.loads(orjson.dumps(to_json(_snap(), REGISTRY)))
    unit = doc["units"]["u-a"]
    assert unit["due_soon"] == {"24h": 1, "72h": 2}
    month = unit["windows"]["month"]
    assert month["satisfaction_ratio"] == pytest.approx(0.5)
    assert month["online_payment_ratio"] == pytest.approx(0.5)
    assert month["scorecard"]["total"] == pytest.approx(25.6)
    assert month["scorecard"]["weights"] == 46
    assert [e["unit"] for e in doc["scorecard"]["month"]["commune"]] == ["u-b", "u-a"]
    assert set(doc["scorecard"]) == {"month", "quarter", "year"}


def test_the_table_prints_the_scorecard_view() -> None:
    out = StringIO()
    board(_snap(), REGISTRY, Console(file=out, width=250), scorecard_window="month")
    text = out.getvalue()
    assert "Decision 766 scorecard (46 of 100 points from events): month" in text
    rows = [line for line in text.splitlines() if "(u-a)" in line or "(u-b)" in line]
    assert "(u-b)" in rows[-2] and "(u-a)" in rows[-1]  # ranked: u-b first
    assert "25.60" in rows[-1] and "46" in rows[-1] and "55.7%" in rows[-1]
    assert "26.00" in rows[-2] and "65.0%" in rows[-2]
