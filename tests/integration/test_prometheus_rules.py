"""The generated rules and dashboards against the REAL local Prometheus and Alertmanager.

Prometheus of the local stack loads ``deploy/prometheus/rules/*.yml`` and Alertmanager
``deploy/alertmanager/alertmanager.yml``; both are reloaded here so they run the committed
(generated) files. The API clients (:class:`PrometheusApi`, :class:`AlertmanagerApi`) live in
:mod:`tests.integration.promhelpers`, shared with the replay-based ``test_ops_e2e``.

The roll-ups are also checked on a PRIVATE real Prometheus that scrapes a hand-written
exposition (served by this module) and runs the generated rule files: the recorded level and
province ratios and scorecards must equal numbers worked out by hand from KPIS.md, and a
KPI alert must render its Vietnamese annotations with the unit's name and figures.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from ioc_monitor.config import StackSettings
from services.harness import free_port
from services.ops import alertkit as ak
from services.ops import dashboards as dashgen
from services.ops import rules as rg
from services.stack.control import ServiceStatus
from tests.integration.promhelpers import (
    AlertmanagerApi,
    PrivatePrometheus,
    PrometheusApi,
    wait_until,
)

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
        _planted(ak.FEED_STALLED, stalled | {"feed": feed}),
        _planted("IocUnitOverdue", kpi | {"feed": feed}),
        _planted("IocOnTimeBelowTarget24h", kpi | {"feed": other}),
        # neither carries feed: must NOT count as "equal" (the missing-label pitfall)
        _planted(ak.FEED_STALLED, stalled | {"variant": "nofeed"}),
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
        stalled_alert = alertmanager.wait_for_alert(ak.FEED_STALLED, test_run=feed, feed=feed)
        time.sleep(2)  # let the inhibitor settle; nothing else may become inhibited
        for alert in (other_feed, no_feed, stalled_alert):
            labels = dict(alert["labels"])
            (fresh,) = alertmanager.alerts(**labels)
            assert fresh["status"]["inhibitedBy"] == [], labels
    finally:
        ended = datetime.now(UTC).isoformat()
        alertmanager.post_alerts([alert | {"endsAt": ended} for alert in planted])


# --- roll-ups on a private Prometheus, from a hand-written exposition ---------------------

HONG_GAI = "Trung tâm Phục vụ hành chính công phường Hồng Gai"
HA_LONG = "Trung tâm Phục vụ hành chính công phường Hạ Long"
CENTRE = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
D_HA_LONG = "Trung tâm Hành chính công thành phố Hạ Long"
_UNITS = {
    "qn-c-hong-gai": ("commune", HONG_GAI, "sup-ha-long", 0.95),
    "qn-c-ha-long": ("commune", HA_LONG, "sup-ha-long", 0.95),
    "qn-ttpvhcc": ("province", CENTRE, "qn-centre", 0.999),
    "qn-d-ha-long": ("district", D_HA_LONG, "sup-ha-long", 0.969),
}
_C, _H, _P, _D = "qn-c-hong-gai", "qn-c-ha-long", "qn-ttpvhcc", "qn-d-ha-long"
#: (metric, unit, extra labels, value) as the exporter would serve them.
_SERIES: list[tuple[str, str, str, float]] = [
    # month: the scorecard (same figures as tests/promtool/recording.test.yml)
    ("ioc_window_dossiers_received", _C, 'window="month",channel="in_person"', 60),
    ("ioc_window_dossiers_received", _C, 'window="month",channel="online_full"', 20),
    ("ioc_window_dossiers_received", _C, 'window="month",channel="online_partial"', 20),
    ("ioc_window_dossiers_received", _H, 'window="month",channel="online_full"', 100),
    ("ioc_window_dossiers_received", _P, 'window="month",channel="online_full"', 25),
    ("ioc_window_dossiers_received", _P, 'window="month",channel="in_person"', 75),
    ("ioc_window_dossiers_digitized", _C, 'window="month"', 40),
    ("ioc_window_dossiers_digitized", _H, 'window="month"', 60),
    ("ioc_window_dossiers_digitized", _P, 'window="month"', 20),
    ("ioc_window_dossiers_completed", _C, 'window="month",timeliness="early"', 30),
    ("ioc_window_dossiers_completed", _C, 'window="month",timeliness="on_time"', 40),
    ("ioc_window_dossiers_completed", _C, 'window="month",timeliness="late"', 10),
    ("ioc_window_dossiers_completed", _H, 'window="month",timeliness="on_time"', 20),
    ("ioc_window_dossiers_completed", _P, 'window="month",timeliness="on_time"', 30),
    ("ioc_window_dossiers_completed", _P, 'window="month",timeliness="late"', 10),
    ("ioc_window_dossiers_completed_with_fee", _C, 'window="month"', 20),
    ("ioc_window_dossiers_completed_with_fee", _H, 'window="month"', 10),
    ("ioc_window_dossiers_paid_online", _C, 'window="month"', 15),
    ("ioc_window_dossiers_paid_online", _H, 'window="month"', 5),
    ("ioc_window_dossiers_multi_visit", _C, 'window="month"', 3),
    ("ioc_window_dossiers_rated", _C, 'window="month",rating="satisfied"', 30),
    ("ioc_window_dossiers_rated", _C, 'window="month",rating="unsatisfied"', 6),
    ("ioc_window_dossiers_rated", _H, 'window="month",rating="unsatisfied"', 4),
    ("ioc_window_dossiers_rated", _P, 'window="month",rating="unsatisfied"', 6),
    ("ioc_dossiers_in_progress", _C, "", 40),
    ("ioc_dossiers_in_progress", _H, "", 60),
    ("ioc_dossiers_in_progress", _P, "", 60),
    ("ioc_dossiers_in_progress", _D, "", 10),
    ("ioc_dossiers_overdue", _C, "", 4),
    ("ioc_dossiers_overdue", _H, "", 6),
    ("ioc_dossiers_overdue", _P, "", 20),
    ("ioc_dossiers_overdue", _D, "", 5),
    ("ioc_dossiers_due_soon", _C, 'within="24h"', 3),
    ("ioc_dossiers_due_soon", _H, 'within="24h"', 1),
]
#: Hand-worked from KPIS.md (Ratios, Scorecard) over the summed counts of _SERIES, month:
#: commune R = 200, O = 140, D = 100, C = 100, G = 90, L = 10, F = 30, P = 20, U = 10,
#: multi-visit 3, satisfied 30 of 40 rated, I = 100, V = 10; province level (the centre)
#: R = 100, O = 25, D = 20, C = 40, G = 30, L = 10, no fee, U = 6 (0 satisfied of 6),
#: I = 60, V = 20; district only I = 10, V = 5. Province: sums of the three.
EXPECTED: dict[str, float] = {
    'level:ioc_digitized_ratio:window{level="commune",window="month"}': 0.5,  # 100 / 200
    'level:ioc_digitized_ratio:window{level="province",window="month"}': 0.2,  # 20 / 100
    'province:ioc_digitized_ratio:window{window="month"}': 0.4,  # 120 / 300
    'level:ioc_online_payment_ratio:window{level="commune",window="month"}': 20 / 30,
    'province:ioc_online_payment_ratio:window{window="month"}': 20 / 30,
    'level:ioc_multi_visit_ratio:window{level="commune",window="month"}': 0.03,  # 3 / 100
    'level:ioc_multi_visit_ratio:window{level="province",window="month"}': 0.0,  # a real 0
    'province:ioc_multi_visit_ratio:window{window="month"}': 3 / 140,
    'level:ioc_satisfaction_ratio:window{level="commune",window="month"}': 0.75,  # 30 / 40
    'level:ioc_satisfaction_ratio:window{level="province",window="month"}': 0.0,  # 0 / 6
    'province:ioc_satisfaction_ratio:window{window="month"}': 30 / 46,
    'province:ioc_dossiers_due_soon:sum{within="24h"}': 4,
}
_SCORE = "ioc_scorecard_points:window"
_POINTS = {
    # commune: 20 x 180 / 200; 12 x min(1, 0.7 / 0.5); 6 x 20 / 30; 2 x 0.5 / 0.8;
    # 6 x (1 - 20 / 100) / 0.9
    ("commune", "timeliness"): 18,
    ("commune", "online"): 12,
    ("commune", "payment"): 4,
    ("commune", "digitisation"): 1.25,
    ("commune", "satisfaction"): 16 / 3,
    # province level: 20 x 70 / 100; 12 x 0.25 / 0.5; 2 x 0.2 / 0.8; 6 x 0.6 / 0.9; no fee
    ("province", "timeliness"): 14,
    ("province", "online"): 6,
    ("province", "digitisation"): 0.5,
    ("province", "satisfaction"): 4,
    # district: nothing in the month, 20 x (10 - 5) / 10
    ("district", "timeliness"): 10,
}
EXPECTED |= {
    f'level:{_SCORE}{{level="{level}",window="month",component="{k}"}}': v
    for (level, k), v in _POINTS.items()
}
# province: 20 x 255 / 310; 12 (capped); 6 x 20 / 30; 2 x 0.4 / 0.8; 6 x (1 - 36/140) / 0.9
_PROVINCE = {"timeliness": 510 / 31, "online": 12, "payment": 4, "digitisation": 1}
_PROVINCE |= {"satisfaction": 104 / 21}
EXPECTED |= {
    f'province:{_SCORE}{{window="month",component="{k}"}}': v for k, v in _PROVINCE.items()
}
# quarter: nothing in the window, only the in-progress figures: 20 x (170 - 35) / 170
EXPECTED[f'province:{_SCORE}{{window="quarter",component="timeliness"}}'] = 270 / 17
#: Recorded series that must NOT exist (their denominator is 0).
ABSENT = (
    'level:ioc_online_payment_ratio:window{level="province"}',  # no fee at the centre
    'level:ioc_scorecard_points:window{level="province",component="payment"}',
    'level:ioc_scorecard_points:window{level="district",component!="timeliness"}',
    'province:ioc_scorecard_points:window{window="quarter",component!="timeliness"}',
)


def _exposition() -> bytes:
    lines = []
    for unit, (level, name, supervisor, on_time) in _UNITS.items():
        base = f'unit="{unit}",level="{level}"'
        lines.append(f'ioc_unit_info{{{base},name="{name}",supervisor="{supervisor}"}} 1')
        lines.append(f'ioc_unit_target_ratio{{{base},kpi="on_time"}} {on_time}')
        lines.append(f'ioc_unit_target_ratio{{{base},kpi="online"}} 0.85')
    for metric, unit, extra, value in _SERIES:
        labels = f'unit="{unit}",level="{_UNITS[unit][0]}"' + (f",{extra}" if extra else "")
        lines.append(f"{metric}{{{labels}}} {value}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def exposition() -> Iterator[str]:
    """``host:port`` of an HTTP server answering ``/metrics`` with :func:`_exposition`."""
    body = _exposition()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _sample(api: PrometheusApi, selector: str) -> float | None:
    result = api.query(selector)
    assert len(result) <= 1, (selector, result)
    return float(result[0]["value"][1]) if result else None


def test_rollups_equal_hand_worked_numbers_on_a_real_prometheus(
    exposition: str, tmp_path: Path
) -> None:
    prometheus = PrivatePrometheus(tmp_path / "prometheus", exposition, ak.EXPORTER_JOB)
    try:
        prometheus.start([DEPLOY / rg.RECORDING_FILE, DEPLOY / rg.ALERTS_FILE])
        api = prometheus.api
        # The scorecard groups evaluate every minute, at an offset of their own.
        wait_until(
            lambda: all(_sample(api, selector) is not None for selector in EXPECTED),
            150,
            "every expected roll-up to be recorded",
        )
        for selector, expected in EXPECTED.items():
            assert _sample(api, selector) == pytest.approx(expected, rel=1e-12), selector
        for selector in ABSENT:
            assert api.query(selector) == [], selector

        # The overdue alert (for: 0s in the copy): 20 of the centre's 60 open dossiers
        # (33 %, above the limit 0.05 + 4 sqrt(0.05 x 0.95 / 60) = 0.16).
        alert = api.wait_for_alert("IocUnitOverdue", timeout=60, unit=_P)
        assert alert["labels"]["name"] == CENTRE
        assert alert["labels"]["supervisor"] == "qn-centre"
        assert alert["annotations"]["description"] == (
            f"{CENTRE} ({_P}) có 20 hồ sơ đang giải quyết đã quá hạn, trong tổng số 60 hồ sơ "
            "đang giải quyết (ngưỡng: từ 10 hồ sơ và trên 5 %; mức chênh lệch này vượt giới "
            "hạn kiểm soát 4 sigma, không phải dao động ngẫu nhiên)."
        )
        assert alert["annotations"]["runbook_url"] == f"http://127.0.0.1:9480/units/{_P}"
        # hong-gai: 4 of 40 overdue (10 %) but fewer than 10: never.
        overdue = {
            a["labels"]["unit"]
            for a in api.alerts()
            if a["labels"]["alertname"] == "IocUnitOverdue"
        }
        assert overdue == {_P}
    finally:
        prometheus.stop()
