"""Thin HTTP clients of Prometheus (API v1) and Alertmanager (API v2), and a private Prometheus.

Shared by ``test_prometheus_rules`` (the local stack's Prometheus, and a private one scraping a
hand-written exposition) and ``test_ops_e2e`` (a private Prometheus alerting to the local
Alertmanager). Not a test module.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from services import harness
from services.harness import free_port

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


# --- a private Prometheus -----------------------------------------------------------------

_FOR = re.compile(r"^(\s+)for: \S+$", re.MULTILINE)
START_TIMEOUT = 30.0


def copy_rules(sources: Sequence[Path], target: Path) -> Path:
    """Copy rule files into ``target`` with every ``for:`` rewritten to ``0s``.

    Prometheus cannot shorten ``for`` globally, and waiting 30 min for an alert is not a
    test. That is the ONLY change: the expressions, labels and annotations are the real,
    generated ones (checked by re-parsing both files).
    """
    target.mkdir()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        copied, count = _FOR.subn(r"\1for: 0s", text)
        original = yaml.safe_load(text)
        rules = [r for g in original["groups"] for r in g["rules"]]
        assert count == sum(1 for r in rules if "for" in r), source
        for rule in rules:
            if "for" in rule:
                rule["for"] = "0s"
        assert yaml.safe_load(copied) == original, f"{source}: more than `for` changed"
        (target / source.name).write_text(copied, encoding="utf-8")
    return target


def prometheus_binary() -> str:
    """The ``prometheus`` executable (Debian package prometheus); fails the test if absent."""
    found = shutil.which("prometheus") or shutil.which("prometheus", path="/usr/bin")
    if found is None:
        pytest.fail("prometheus not found (install the Debian package prometheus)")
    return found


@dataclass
class PrivatePrometheus:
    """A Prometheus of one test: free port, own config, TSDB and log under ``home``.

    It scrapes ``target`` as job ``job`` every second and evaluates every second (groups
    with their own ``interval`` keep it), alerting to ``alertmanager`` if given.
    """

    home: Path
    target: str
    job: str
    alertmanager: str | None = None
    external_labels: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> PrometheusApi:
        return PrometheusApi(self.url)

    @property
    def log(self) -> Path:
        return self.home / "prometheus.log"

    def config(self, rules: Path) -> dict[str, Any]:
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
                "external_labels": dict(self.external_labels),
            },
            "rule_files": [str(rules / "*.yml")],
            "scrape_configs": [
                {
                    "job_name": self.job,
                    "scrape_interval": "1s",
                    "static_configs": [{"targets": [self.target]}],
                }
            ],
        }
        if self.alertmanager is not None:
            targets = [{"static_configs": [{"targets": [self.alertmanager]}]}]
            config["alerting"] = {"alertmanagers": targets}
        return config

    def start(self, rule_files: Sequence[Path]) -> None:
        """Copy the rule files (``for: 0s``), write the config, start, wait until ready.

        Another run on this machine may take the free port first: up to three ports are
        tried.
        """
        self.home.mkdir()
        rules = copy_rules(rule_files, self.home / "rules")
        for _attempt in range(3):
            config = self.home / "prometheus.yml"
            text = yaml.safe_dump(self.config(rules), sort_keys=False)
            config.write_text(text, encoding="utf-8")
            argv = [
                prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ]
            self.proc = harness.spawn(argv, self.log)
            deadline = time.monotonic() + START_TIMEOUT
            while self.proc.poll() is None and time.monotonic() < deadline:
                if self.api.ready():
                    return
                time.sleep(0.2)
            harness.stop(self.proc)
            self.port = free_port()
        tail = self.log.read_text(errors="replace")[-3000:]
        pytest.fail(f"private Prometheus did not become ready:\n{tail}", pytrace=False)

    def stop(self) -> None:
        harness.stop(self.proc)


def resolve_run(am: AlertmanagerApi, label: str, run_id: str) -> None:
    """End every alert of one test run in Alertmanager (``endsAt`` = now), and wait.

    Args:
        am: The Alertmanager.
        label: The external label that marks the run's alerts.
        run_id: Its value for this run.
    """
    held = am.alerts(**{label: run_id})
    if not held:
        return
    now = datetime.now(UTC).isoformat()
    keys = ("labels", "annotations", "startsAt", "generatorURL")
    am.post_alerts([{k: a[k] for k in keys if k in a} | {"endsAt": now} for a in held])
    wait_until(
        lambda: not am.alerts(**{label: run_id}),
        30,
        f"Alertmanager to resolve the alerts of run {run_id}",
    )
