"""`promtool test rules` on tests/promtool/*.yml, and `amtool config routes test` routing.

The promtool test files load the generated rule files (``rule_files`` relative to the test
file, i.e. ``deploy/prometheus/rules``) and feed them hand-written series; every alert has
at least one case where it fires and one where it does not.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ioc_monitor.registry import load_registry
from services.ops import alertkit as ak
from services.ops import alertmanager as am
from services.ops import rules as rg

REPO = Path(__file__).resolve().parents[4]
DEPLOY = REPO / "deploy"
PROMTOOL_TESTS = REPO / "tests" / "promtool"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"
TEST_FILES = sorted(PROMTOOL_TESTS.glob("*.test.yml"))


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _alert_names() -> set[str]:
    groups = _load(DEPLOY / rg.ALERTS_FILE)["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"]}


def test_test_files_exist() -> None:
    assert {p.name for p in TEST_FILES} >= {
        "kpi_alerts.test.yml",
        "pipeline_alerts.test.yml",
        "recording.test.yml",
    }


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_rule_files_are_the_generated_ones(path: Path) -> None:
    generated = {(DEPLOY / rg.RECORDING_FILE).resolve(), (DEPLOY / rg.ALERTS_FILE).resolve()}
    rule_files = {(path.parent / f).resolve() for f in _load(path)["rule_files"]}
    assert rule_files <= generated
    assert (DEPLOY / rg.RECORDING_FILE).resolve() in rule_files


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_test_rules(path: Path) -> None:
    proc = subprocess.run(
        [PROMTOOL, "test", "rules", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_every_alert_has_firing_and_quiet_cases() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        for case in _load(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = _alert_names()
    assert alerts - firing == set(), "alerts without a firing case"
    assert alerts - quiet == set(), "alerts without a not-firing case"
    assert firing | quiet <= alerts, "tests of alerts that do not exist"


def _route(labels: dict[str, str], receiver: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            AMTOOL,
            "config",
            "routes",
            "test",
            f"--config.file={DEPLOY / rg.ALERTMANAGER_FILE}",
            f"--verify.receivers={receiver}",
            *(f"{k}={v}" for k, v in labels.items()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _kpi(alertname: str, unit: str, supervisor: str | None, severity: str) -> dict[str, str]:
    labels = {"alertname": alertname, "unit": unit, "level": "commune", "severity": severity}
    labels |= {"category": ak.CATEGORY_KPI, "feed": ak.FEED}
    return labels | ({"supervisor": supervisor} if supervisor else {})


ROUTES = [
    pytest.param(
        _kpi("IocOnTimeBudgetBurnFast", "qn-c-hong-gai", "sup-ha-long", "page"),
        "supervisor-sup-ha-long",
        id="page-to-supervisor",
    ),
    pytest.param(
        _kpi("IocUnitOverdue", "qn-ttpvhcc", "qn-centre", "ticket"),
        "supervisor-qn-centre",
        id="ticket-to-supervisor",
    ),
    pytest.param(
        _kpi("IocUnitOverdue", "some-unit", None, "ticket"),
        "ioc-ops",
        id="unit-without-supervisor-to-ops",
    ),
    pytest.param(
        _kpi("IocSatisfactionLow30d", "qn-c-hong-gai", "sup-ha-long", "ticket")
        | {"name": "Trung tâm Phục vụ hành chính công phường Hồng Gai", "window": "30d"},
        "supervisor-sup-ha-long",
        id="new-alert-with-name-to-supervisor",
    ),
    pytest.param(
        {"alertname": "IocFeedStalled", "severity": "page", "category": "pipeline", "feed": "ioc"},
        "ioc-ops",
        id="pipeline-to-ops",
    ),
    pytest.param(
        {"alertname": "IocExporterDown", "severity": "page", "category": "pipeline", "feed": "ioc"}
        | {"job": "ioc-exporter"},
        "ioc-ops",
        id="exporter-down-to-ops",
    ),
]


@pytest.mark.parametrize(("labels", "receiver"), ROUTES)
def test_amtool_routes(labels: dict[str, str], receiver: str) -> None:
    proc = _route(labels, receiver)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == receiver


def test_amtool_route_verification_can_fail() -> None:
    proc = _route(_kpi("IocUnitOverdue", "qn-c-hong-gai", "sup-ha-long", "ticket"), "ioc-ops")
    assert proc.returncode != 0


def test_amtool_routes_every_supervisor_of_the_registry() -> None:
    supervisors = load_registry().supervisors()
    assert supervisors
    for supervisor, units in supervisors.items():
        labels = _kpi("IocOnTimeBelowTarget24h", units[0], supervisor, "ticket")
        proc = _route(labels, am.supervisor_receiver(supervisor))
        assert proc.returncode == 0, (supervisor, proc.stdout + proc.stderr)
