"""The generated rules and dashboards against the REAL local Prometheus and Alertmanager.

Prometheus of the local stack loads ``deploy/prometheus/rules/*.yml`` and Alertmanager
``deploy/alertmanager/alertmanager.yml``; both are reloaded here so they run the committed
(generated) files. The API clients (:class:`PrometheusApi`, :class:`AlertmanagerApi`) live in
:mod:`tests.integration.promhelpers`, shared with the replay-based ``test_ops_e2e``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ioc_monitor.config import StackSettings
from services.ops import alerts as ra
from services.ops import dashboards as dashgen
from services.ops import rules as rg
from services.stack.control import ServiceStatus
from tests.integration.promhelpers import AlertmanagerApi, PrometheusApi, wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


@pytest.fixture(scope="module")
def prometheus(stack: list[ServiceStatus], stack_settings: StackSettings) -> PrometheusApi:
    """The local Prometheus, reloaded so it runs the generated rule files."""
    api = PrometheusApi(f"http://127.0.0.1:{stack_settings.prometheus_port}")
    api.reload()
    return api


@pytest.fixture(scope="module")
def alertmanager(stack: list[ServiceStatus], stack_settings: StackSettings) -> AlertmanagerApi:
    """The local Alertmanager, reloaded so it runs the generated configuration."""
    api = AlertmanagerApi(f"http://127.0.0.1:{stack_settings.alertmanager_port}")
    api.reload()
    return api


def _generated_groups() -> dict[str, set[str]]:
    """Group name → rule names, from the committed rule files."""
    groups: dict[str, set[str]] = {}
    for relative in (rg.RECORDING_FILE, rg.ALERTS_FILE):
        doc = yaml.safe_load((DEPLOY / relative).read_text(encoding="utf-8"))
        for group in doc["groups"]:
            names = {str(rule.get("record") or rule.get("alert")) for rule in group["rules"]}
            groups[group["name"]] = names
    return groups


def test_every_generated_rule_group_is_loaded_and_healthy(prometheus: PrometheusApi) -> None:
    expected = _generated_groups()

    def loaded() -> dict[str, dict[str, Any]] | None:
        groups = {g["name"]: g for g in prometheus.rule_groups()}
        return groups if set(expected) <= set(groups) else None

    groups = wait_until(loaded, 30, "the generated rule groups")
    for name, rules in expected.items():
        group = groups[name]
        assert Path(group["file"]).name in {rg.RECORDING_FILE.name, rg.ALERTS_FILE.name}
        assert {r["name"] for r in group["rules"]} == rules, name
        for rule in group["rules"]:
            assert rule["health"] in {"ok", "unknown"}, (name, rule["name"], rule.get("lastError"))
            assert not rule.get("lastError"), (name, rule["name"], rule["lastError"])


def test_targets_are_recorded(prometheus: PrometheusApi) -> None:
    target = f'{ra.UNIT_ON_TIME_TARGET}{{unit="qn-ttpvhcc"}}'
    value = wait_until(lambda: prometheus.value(target), 90, "the recorded targets")
    assert value == pytest.approx(0.999)


@pytest.mark.parametrize("name", sorted(dashgen.FILES.values()))
def test_every_dashboard_query_parses(prometheus: PrometheusApi, name: str) -> None:
    board = dashgen.generate()[name]
    for expr in dashgen.panel_queries(board):
        answer = prometheus.query_raw(dashgen.expand(expr))
        assert answer["status"] == "success", (expr, answer.get("error"))


def test_alertmanager_runs_the_generated_config(alertmanager: AlertmanagerApi) -> None:
    text = alertmanager.config_text()
    for receiver in ("ioc-ops", "supervisor-sup-ha-long", "supervisor-qn-centre"):
        assert f"name: {receiver}" in text
    assert "IocFeedStalled" in text


def _planted(name: str, labels: Mapping[str, str], minutes: float = 3.0) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": "planted by test_prometheus_rules"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=minutes)).isoformat(),
    }


def test_feed_stalled_inhibits_kpi_alerts_of_its_feed_only(alertmanager: AlertmanagerApi) -> None:
    # A feed value of our own: real alerts (feed="ioc") are never inhibited by this test.
    feed = f"t-{uuid.uuid4().hex[:12]}"
    other = f"{feed}-other"
    kpi = {"category": "kpi", "severity": "ticket", "unit": feed, "test_run": feed}
    stalled = {"category": "pipeline", "severity": "page", "test_run": feed}
    planted = [
        _planted(ra.FEED_STALLED, stalled | {"feed": feed}),
        _planted("IocUnitOverdue", kpi | {"feed": feed}),
        _planted("IocOnTimeBelowTarget24h", kpi | {"feed": other}),
        # neither carries feed: must NOT count as "equal" (the missing-label pitfall)
        _planted(ra.FEED_STALLED, stalled | {"variant": "nofeed"}),
        _planted("IocOnlineBelowTarget30d", kpi),
    ]
    alertmanager.post_alerts(planted)
    try:
        inhibited = alertmanager.wait_for_alert("IocUnitOverdue", test_run=feed)
        wait_until(
            lambda: alertmanager.alerts(alertname="IocUnitOverdue", test_run=feed)[0]["status"][
                "inhibitedBy"
            ],
            30,
            "the inhibition of IocUnitOverdue",
        )
        assert inhibited["labels"]["feed"] == feed
        other_feed = alertmanager.wait_for_alert("IocOnTimeBelowTarget24h", test_run=feed)
        no_feed = alertmanager.wait_for_alert("IocOnlineBelowTarget30d", test_run=feed)
        stalled_alert = alertmanager.wait_for_alert(ra.FEED_STALLED, test_run=feed, feed=feed)
        time.sleep(2)  # let the inhibitor settle; nothing else may become inhibited
        for alert in (other_feed, no_feed, stalled_alert):
            labels = dict(alert["labels"])
            (fresh,) = alertmanager.alerts(**labels)
            assert fresh["status"]["inhibitedBy"] == [], labels
    finally:
        ended = datetime.now(UTC).isoformat()
        alertmanager.post_alerts([alert | {"endsAt": ended} for alert in planted])
