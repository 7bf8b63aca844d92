"""The generated rules and dashboards against the REAL local Prometheus and Alertmanager.

Prometheus of the local stack loads ``deploy/prometheus/rules/*.yml`` and Alertmanager
``deploy/alertmanager/alertmanager.yml``; both are reloaded here so they run the committed
(generated) files. The helpers (:class:`PrometheusApi`, :class:`AlertmanagerApi`) are meant
for later replay-based checks too: ``query(expr)``, ``wait_for_alert(name)``, ...
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ioc_monitor.config import StackSettings
from services import dashgen
from services import rulegen as rg
from services import rulegen_alerts as ra
from services.stack import ServiceStatus

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def _http(method: str, url: str, body: Any = None, timeout: float = 10.0) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=timeout) as resp:
            text = resp.read().decode()
    except urllib.error.HTTPError as exc:  # Prometheus answers errors as JSON too
        text = exc.read().decode()
        if not text.startswith("{"):
            raise AssertionError(f"{method} {url}: HTTP {exc.code}: {text[:300]}") from None
    return json.loads(text) if text.strip() else None


def wait_until(check: Callable[[], Any], timeout: float, what: str, step: float = 1.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


class PrometheusApi:
    """Thin client of the Prometheus HTTP API (v1) of the local stack."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return _http("GET", f"{self.base}{path}{query}")

    def reload(self) -> None:
        """Reload the configuration and rule files (needs ``--web.enable-lifecycle``)."""
        _OPENER.open(urllib.request.Request(f"{self.base}/-/reload", method="POST"), timeout=30)

    def query_raw(self, expr: str, at: float | None = None) -> dict[str, Any]:
        params = {"query": expr} | ({"time": str(at)} if at is not None else {})
        answer: dict[str, Any] = self.get("/api/v1/query", **params)
        return answer

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Run an instant query; fail on an error; return the result vector."""
        answer = self.query_raw(expr, at)
        assert answer["status"] == "success", (expr, answer.get("error"))
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The value of a query that returns at most one sample (None when empty)."""
        result = self.query(expr)
        assert len(result) <= 1, (expr, result)
        return float(result[0]["value"][1]) if result else None

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = self.get("/api/v1/rules")["data"]["groups"]
        return groups

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.get("/api/v1/alerts")["data"]["alerts"]
        return alerts

    def wait_for_alert(
        self, name: str, timeout: float = 120.0, state: str = "firing", **labels: str
    ) -> dict[str, Any]:
        """Wait until an alert ``name`` with these labels is in ``state``; return it."""

        def find() -> dict[str, Any] | None:
            for alert in self.alerts():
                got = alert["labels"]
                wanted = {"alertname": name, **labels}
                if alert["state"] == state and all(got.get(k) == v for k, v in wanted.items()):
                    return alert
            return None

        found: dict[str, Any] = wait_until(find, timeout, f"{state} alert {name} {labels}")
        return found


class AlertmanagerApi:
    """Thin client of the Alertmanager HTTP API (v2) of the local stack."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def reload(self) -> None:
        _OPENER.open(urllib.request.Request(f"{self.base}/-/reload", method="POST"), timeout=30)

    def config_text(self) -> str:
        return str(_http("GET", f"{self.base}/api/v2/status")["config"]["original"])

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        _http("POST", f"{self.base}/api/v2/alerts", alerts)

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode(
            [("filter", f'{k}="{v}"') for k, v in labels.items()] + [("inhibited", "true")]
        )
        found: list[dict[str, Any]] = _http("GET", f"{self.base}/api/v2/alerts?{query}")
        return found

    def wait_for_alert(self, name: str, timeout: float = 60.0, **labels: str) -> dict[str, Any]:
        """Wait until Alertmanager holds an alert ``name`` with these labels; return it."""
        found: list[dict[str, Any]] = wait_until(
            lambda: self.alerts(alertname=name, **labels), timeout, f"alert {name} {labels}"
        )
        return found[0]


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
