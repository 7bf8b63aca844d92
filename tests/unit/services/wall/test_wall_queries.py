from __future__ import annotations

import pytest

from services.wall import queries


@pytest.mark.parametrize(
    "unit_id", ["", "QN-X", 'x"} or vector(1) or {a="', "a b", "x" * 65, "../etc", "é"]
)
def test_a_unit_id_that_could_inject_promql_is_refused(unit_id: str) -> None:
    assert not queries.check_unit_id(unit_id)
    with pytest.raises(ValueError):
        queries.unit(unit_id)
    with pytest.raises(ValueError):
        queries.unit_history(unit_id)


def test_unit_queries_select_the_unit() -> None:
    q = queries.unit("qn-c-ha-long")
    assert q["info"] == (
        'max by (unit, level, name, supervisor) (ioc_unit_info{unit="qn-c-ha-long"})'
    )
    join = "\n* on (unit, level) group_left (name) max by (unit, level, name) (ioc_unit_info)"
    assert q["on_time"] == (
        "(max by (unit, level, window) "
        '(ioc_on_time_ratio{unit="qn-c-ha-long",window=~"24h|30d|month"}))' + join
    )
    assert q["due_soon_24h"] == (
        '(max by (unit, level, within) (ioc_dossiers_due_soon{unit="qn-c-ha-long",within="24h"}))'
        + join
    )
    assert 'ioc_scorecard_points{unit="qn-c-ha-long"}' in q["scorecard"]
    assert (
        'ioc_dossiers_overdue{unit="qn-c-ha-long"}'
        in queries.unit_history("qn-c-ha-long")["overdue"]
    )


def test_rollups_use_the_recording_rule_or_the_same_sum() -> None:
    assert queries.ratio_rollup("province", "on_time", ("24h",)) == (
        'province:ioc_on_time_ratio:window{window=~"24h"} or '
        '((sum by (window) (ioc_window_dossiers_completed{window=~"24h",'
        'timeliness=~"early|on_time"}) '
        'or 0 * sum by (window) (ioc_window_dossiers_completed{window=~"24h"})) '
        '/ (sum by (window) (ioc_window_dossiers_completed{window=~"24h"}) > 0))'
    )
    level = queries.levels()
    assert level["due_soon_72h"] == (
        'level:ioc_dossiers_due_soon:sum{within="72h"} '
        'or sum by (level, within) (ioc_dossiers_due_soon{within="72h"})'
    )
    assert level["satisfaction"].startswith("level:ioc_satisfaction_ratio:window{")
    assert 'rating="satisfied"' in level["satisfaction"]
    assert queries.overview()["overdue"] == (
        "province:ioc_dossiers_overdue:sum or sum (ioc_dossiers_overdue)"
    )


def test_the_overview_joins_names_with_the_info_idiom() -> None:
    worst = queries.overview()["worst_overdue"]
    assert worst.startswith("topk(5, (max by (unit, level) (ioc_dossiers_overdue))")
    join = "* on (unit, level) group_left (name) max by (unit, level, name) (ioc_unit_info)"
    assert join in worst


def test_pipeline_and_health_use_the_exporter_job() -> None:
    assert queries.pipeline("my-job")["up"] == 'up{job="my-job"}'
    assert queries.health("my-job")["up"] == 'up{job="my-job"}'
