from __future__ import annotations

from services.wall import views
from services.wall.upstream import Sample


def s(value: float, **labels: str) -> Sample:
    return Sample(labels, value)


def info(unit: str, level: str, name: str, supervisor: str = "") -> Sample:
    return s(1, unit=unit, level=level, name=name, supervisor=supervisor)


def card(unit: str, window: str = "month", **points: float) -> list[Sample]:
    return [s(v, unit=unit, window=window, component=c) for c, v in points.items()]


def test_scorecard_total_over_the_weights_of_the_exposed_components() -> None:
    got = views.scorecards(card("a", timeliness=10, online=6, satisfaction=3), ("a",), "unit")
    month = got["month"]
    assert month["total"] == 19
    assert month["max"] == 20 + 12 + 6  # payment and digitisation not exposed
    assert month["ratio"] == 19 / 38
    assert month["components"] == {"timeliness": 10, "online": 6, "satisfaction": 3}
    assert views.scorecards(card("a", timeliness=1), ("b",), "unit") == {}


def test_units_ranked_within_their_level_scorecard_first_then_on_time() -> None:
    results = {
        "info": [
            info("p", "province", "Tỉnh"),
            info("c1", "commune", "Xã Một"),
            info("c2", "commune", "Xã Hai"),
            info("c3", "commune", "Xã Ba"),
            info("c4", "commune", "Xã Bốn"),
            info("c5", "commune", "Xã Năm"),
        ],
        # c1: 20/40 = 0.5; c2: 30/46 = 0.652; p: 12/12 = 1.
        "scorecard": [
            *card("c1", timeliness=10, online=6, digitisation=0, satisfaction=4),
            *card("c2", timeliness=15, online=6, payment=3, digitisation=1, satisfaction=5),
            *card("p", online=12),
            *card("c3", "quarter", timeliness=20),  # not the ranking window
        ],
        # c3 and c4 have no monthly scorecard: after those that have one, by on-time.
        "on_time": [
            s(0.9, unit="c3", window="month"),
            s(0.95, unit="c4", window="month"),
            s(0.1, unit="c1", window="month"),
        ],
    }
    rows = views.units(results)["units"]
    assert [(r["unit"], r["rank"], r["ranked_by"]) for r in rows] == [
        ("p", 1, "scorecard"),
        ("c2", 1, "scorecard"),
        ("c1", 2, "scorecard"),
        ("c4", 3, "on_time"),
        ("c3", 4, "on_time"),
        ("c5", None, None),
    ]
    c2 = rows[1]
    assert c2["name"] == "Xã Hai" and c2["supervisor"] is None
    assert c2["scorecard"]["month"]["max"] == 46


def test_a_unit_row_has_its_figures_and_targets() -> None:
    results = {
        "info": [info("a", "commune", "<b>Xã</b>", "sup-a")],
        "on_time": [s(0.8, unit="a", window="24h"), s(0.7, unit="a", window="30d")],
        "online": [s(0.4, unit="a", window="24h")],
        "targets": [s(0.95, unit="a", kpi="on_time"), s(0.5, unit="a", kpi="online")],
        "in_progress": [s(5, unit="a")],
        "overdue": [s(3, unit="a")],
        "due_soon_24h": [s(1, unit="a", within="24h")],
        "due_soon_72h": [s(2, unit="a", within="72h")],
    }
    row = views.unit(results)
    assert row is not None
    assert row["name"] == "<b>Xã</b>"  # escaped by the page, not here
    assert row["ratios"] == {"on_time": {"24h": 0.8, "30d": 0.7}, "online": {"24h": 0.4}}
    assert row["targets"] == {"on_time": 0.95, "online": 0.5}
    assert (row["in_progress"], row["overdue"]) == (5, 3)
    assert row["due_soon"] == {"24h": 1, "72h": 2}
    assert views.unit({"info": []}) is None


def test_overview_and_levels() -> None:
    over = views.overview(
        {
            "on_time": [s(0.9, window="24h")],
            "in_progress": [s(1030)],
            "overdue": [s(8)],
            "due_soon_24h": [s(21, within="24h")],
            "worst_overdue": [
                s(3, unit="b", name="B", level="commune"),
                s(5, unit="a", name="A", level="province"),
            ],
            "units": [s(4)],
        }
    )
    assert over["ratios"] == {"on_time": {"24h": 0.9}}
    assert (over["in_progress"], over["overdue"], over["units"]) == (1030, 8, 4)
    assert over["due_soon"] == {"24h": 21}
    assert [w["unit"] for w in over["worst_overdue"]] == ["a", "b"]
    assert over["scorecard"] == {}
    lv = views.levels(
        {
            "units": [s(1, level="province"), s(3, level="commune")],
            "on_time": [s(0.9, level="commune", window="24h")],
            "target_min": [s(0.9, level="commune", kpi="on_time")],
            "target_max": [s(0.95, level="commune", kpi="on_time")],
            "overdue": [s(3, level="commune")],
        }
    )["levels"]
    assert [r["level"] for r in lv] == ["province", "commune"]
    assert lv[1]["targets"] == {"on_time": [0.9, 0.95]}
    assert lv[1]["ratios"] == {"on_time": {"24h": 0.9}}
    assert (lv[1]["overdue"], lv[0]["overdue"]) == (3, None)
