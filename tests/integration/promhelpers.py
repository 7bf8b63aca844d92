"""Thin HTTP clients of Prometheus (API v1) and Alertmanager (API v2) for integration tests.

Shared by ``test_prometheus_rules`` (the local stack's Prometheus) and ``test_ops_e2e`` (a
private Prometheus alerting to the local Alertmanager). Not a test module.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def http_json(method: str, url: str, body: Any = None, timeout: float = 10.0) -> Any:
    """Send a request (JSON body if any) and decode the JSON answer (None when empty)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with OPENER.open(request, timeout=timeout) as resp:
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
    """Thin client of the Prometheus HTTP API (v1)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return http_json("GET", f"{self.base}{path}{query}")

    def reload(self) -> None:
        """Reload the configuration and rule files (needs ``--web.enable-lifecycle``)."""
        OPENER.open(urllib.request.Request(f"{self.base}/-/reload", method="POST"), timeout=30)

    def ready(self) -> bool:
        """True when ``/-/ready`` answers 200 (TSDB open, rules and config loaded)."""
        try:
            with OPENER.open(f"{self.base}/-/ready", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

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
    """Thin client of the Alertmanager HTTP API (v2)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def reload(self) -> None:
        OPENER.open(urllib.request.Request(f"{self.base}/-/reload", method="POST"), timeout=30)

    def config_text(self) -> str:
        return str(http_json("GET", f"{self.base}/api/v2/status")["config"]["original"])

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        http_json("POST", f"{self.base}/api/v2/alerts", alerts)

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode(
            [("filter", f'{k}="{v}"') for k, v in labels.items()] + [("inhibited", "true")]
        )
        found: list[dict[str, Any]] = http_json("GET", f"{self.base}/api/v2/alerts?{query}")
        return found

    def wait_for_alert(self, name: str, timeout: float = 60.0, **labels: str) -> dict[str, Any]:
        """Wait until Alertmanager holds an alert ``name`` with these labels; return it."""
        found: list[dict[str, Any]] = wait_until(
            lambda: self.alerts(alertname=name, **labels), timeout, f"alert {name} {labels}"
        )
        return found[0]
