"""Operations end to end on the real stack: replayed events → rules → Alertmanager → supervisor.

One scenario per module (fixture ``scenario``):

1. a replayed dataset in its own topic, consumer group and Redis prefix: ``ioc simulate``
   output plus hand-written events that plant a condition — a commune unit of the bundled
   registry under supervisor ``sup-ha-long`` (drawn per run, see :func:`_pick_unit`)
   completes 20 dossiers in the last 24 h of event time, 10 of them late (on-time ratio 0.5,
   target 0.95, far below its 4-sigma limit 0.95 - 4 sqrt(0.95 x 0.05 / 20) = 0.76; 20 is
   the alert's minimum volume), with digitised, fee, online-payment,
   multi-visit and rating fields so every v2 family and roll-up has data;
2. ``ioc worker`` and ``ioc exporter --clock event`` (windows evaluated at the log's
   watermark, July 2025, not at the wall clock);
3. a PRIVATE Prometheus (free port, own TSDB dir) scraping that exporter every second as job
   ``ioc-exporter``, evaluating every second, loading the REAL generated rule files (copied
   with every ``for:`` set to ``0s``, see ``promhelpers.copy_rules``) and alerting to the local
   Alertmanager (reloaded only if it does not route as ``deploy/alertmanager/alertmanager.yml``
   does), whose generated routes post to webhooks that this module serves itself
   (``http://127.0.0.1:19999/alerts/<supervisor>``; the test fails if the port is taken).

The events are replayed in two phases, with a Prometheus scrape in between, so the counters
grow while Prometheus watches: the ``rate()``-based roll-ups and SLO error ratios then have
data, and ``IocFeedStalled`` (no event processed for 15 minutes during office hours) does
not fire and inhibit the KPI alerts.

Alerts this Prometheus sends carry the external label ``ioc_test_run=<run id>``: Alertmanager
keeps alerts across runs, and routing (by ``supervisor``, ``category``) ignores the label.
Teardown resolves them (``endsAt`` = now) so later runs and other tests are not affected.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from kafka import KafkaAdminClient
from kafka.errors import UnknownTopicOrPartitionError

from ioc_monitor import catalogue as c
from ioc_monitor.config import KafkaSettings, StackSettings
from ioc_monitor.redis.reader import read_snapshot
from ioc_monitor.registry import Unit, load_registry
from services.harness import free_port
from services.ops import alertkit as ak
from services.ops import dashboards as dashgen
from services.ops import rollups as ru
from services.ops import rules as rg
from services.ops import scorecard as sc
from services.publisher import ensure_topic
from services.stack.control import ServiceStatus
from tests.integration.pipeline import Pipeline
from tests.integration.promhelpers import (
    AlertmanagerApi,
    PrivatePrometheus,
    PrometheusApi,
    resolve_run,
    wait_until,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARDS = REPO / "dashboards"

SEED = 21
DOSSIERS = 300
SUPERVISOR = "sup-ha-long"
ALERT = "IocOnTimeBelowTarget24h"
PLANTED = 20  # completed dossiers of the planted unit in the last 24 h of event time
PLANTED_LATE = 10
#: Planted events replayed in the first phase (one late, one on time); the rest come after
#: Prometheus has scraped the first phase, so the unit's completion counters grow.
FIRST_PHASE = 2
RUN_LABEL = "ioc_test_run"
#: Bounded waits (seconds). Groups with ``interval: 1m`` (targets, long SLO ratios) first
#: evaluate at a hash-chosen offset within their minute; Alertmanager waits ``group_wait``
#: (10 s) for a new group, or up to ``group_interval`` (1 m) when the group already exists.
START_TIMEOUT = 30.0
COUNT_TIMEOUT = 120.0
EVAL_TIMEOUT = 90.0
DELIVERY_TIMEOUT = 90.0
COMPLETION = frozenset({"withdrawn", "stopped", "decided", "returned", 7, 8, 9, 10})
#: Series (per unit, or rolled up as ``<scope>:<name>:<suffix>``) that every KPI panel query
#: showing them must return data for: the dataset has receipts and completions everywhere.
KPI_SERIES = frozenset(
    {"ioc_on_time_ratio", "ioc_online_ratio"}
    | {"ioc_window_dossiers_received", "ioc_window_dossiers_completed"}
)


# --- webhook receiver -------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One webhook POST received from Alertmanager."""

    path: str
    payload: dict[str, Any]


class WebhookRecorder:
    """HTTP server recording every POST (path and JSON body); answers 200."""

    def __init__(self, host: str, port: int) -> None:
        self.deliveries: list[Delivery] = []
        lock = self._lock = threading.Lock()
        deliveries = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsed": body.decode(errors="replace")}
                with lock:
                    deliveries.append(Delivery(self.path, payload))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            error = exc.strerror or str(exc)
        else:
            error = ""
        if error:
            pytest.fail(
                f"cannot listen on {host}:{port} for the Alertmanager webhooks ({error}); the "
                "generated alertmanager.yml posts there: stop whatever holds that port",
                pytrace=False,
            )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


# --- the dataset --------------------------------------------------------------------------


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _end_time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event.get("ended_at") or event["occurred_at"])


def _pick_unit(simulated: list[dict[str, Any]], watermark: datetime, run_id: str) -> Unit:
    """A commune unit of :data:`SUPERVISOR` with no simulated completion in the last 24 h.

    So its 24 h on-time ratio is exactly the planted one (10 of 20). Drawn per run (from the
    run id): Alertmanager keeps the previous run's group (alertname, unit) until the
    resolved notification is delivered, and a new alert in a group that has already
    notified waits for ``group_interval`` (1 m) instead of ``group_wait`` (10 s).
    """
    since = watermark - timedelta(hours=24)
    busy = {e["unit_id"] for e in simulated if e["status"] in COMPLETION and _end_time(e) > since}
    candidates = [
        u
        for u in load_registry()
        if u.supervisor == SUPERVISOR and u.level == "commune" and u.id not in busy
    ]
    assert candidates, f"every commune unit of {SUPERVISOR} completes dossiers in the last 24h"
    return candidates[int(run_id, 16) % len(candidates)]


def _planted(unit: Unit, watermark: datetime, tag: str) -> list[dict[str, Any]]:
    """20 completions of ``unit`` in the 24 h before the watermark, the even ones late.

    Every end time is before the watermark, so the event clock does not move. Late: ended
    1 h after the due time; on time: 2 h before it. Received 6 h before the end, so the 24 h
    window also holds their receipts (12 online, 8 in person). The even ones are digitised,
    the first 10 have a fee (the first 5 paid online), the last came 3 times in person, and
    each is rated (all satisfied but the last): no other KPI alert of the unit fires.
    """
    events: list[dict[str, Any]] = []
    for i in range(PLANTED):
        end = watermark - timedelta(minutes=45 * (i + 1))
        late = i % 2 == 0
        due = end - timedelta(hours=1) if late else end + timedelta(hours=2)
        online = i < 12
        events.append(
            {
                "event_id": str(uuid.uuid4()),
                "dossier_id": f"{tag}-{i:02d}",
                "procedure_code": "1.004227",
                "unit_id": unit.id,
                "agency_id": "ubnd",
                "status": "returned",
                "occurred_at": end.isoformat(),
                "received_at": (end - timedelta(hours=6)).isoformat(),
                "due_at": due.isoformat(),
                "ended_at": end.isoformat(),
                "channel": "online" if online else "in_person",
                **({"online_mode": "full"} if online else {}),
                "supplements": [],
                "digitized": i % 2 == 0,
                "fee_required": i < 10,
                "paid_online": i < 5,
                "visits": 3 if i == PLANTED - 1 else 0 if online else 1,
                "rating": "unsatisfied" if i == PLANTED - 1 else "satisfied",
            }
        )
    assert sum(1 for i in range(PLANTED) if i % 2 == 0) == PLANTED_LATE
    return events


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


# --- the scenario ---------------------------------------------------------------------------


@dataclass
class Scenario:
    prom: PrometheusApi
    am: AlertmanagerApi
    hooks: WebhookRecorder
    unit: Unit
    run_id: str
    started: datetime
    webhook_path: str
    receiver: str


def _webhook_route(config: dict[str, Any], supervisor: str) -> tuple[str, str]:
    """(receiver, webhook URL) that a ``supervisor=<key>`` alert is routed to."""
    matcher = f'supervisor="{supervisor}"'
    routes = [r for r in config["route"]["routes"] if matcher in r.get("matchers", [])]
    assert routes, f"no route for {matcher} in the Alertmanager config"
    receiver = routes[0]["receiver"]
    (entry,) = [r for r in config["receivers"] if r["name"] == receiver]
    return receiver, str(entry["webhook_configs"][0]["url"])


def _routing(config: dict[str, Any]) -> list[Any]:
    """Routes and receiver names of an Alertmanager config (webhook URLs are secrets in the
    running config, so they cannot be compared)."""
    routes = [(r["receiver"], r.get("matchers", [])) for r in config["route"]["routes"]]
    return [config["route"]["receiver"], routes, [r["name"] for r in config["receivers"]]]


def _alertmanager(stack_settings: StackSettings, committed: dict[str, Any]) -> AlertmanagerApi:
    """The local Alertmanager, reloaded if it does not route as the committed config does."""
    am = AlertmanagerApi(f"http://127.0.0.1:{stack_settings.alertmanager_port}")
    if _routing(yaml.safe_load(am.config_text())) != _routing(committed):
        am.reload()
        running = yaml.safe_load(am.config_text())
        assert _routing(running) == _routing(committed), "Alertmanager refused the config"
    return am


def _wait_scraped(prom: PrometheusApi, processed: int) -> None:
    wait_until(
        lambda: prom.value("sum(ioc_events_processed_total)") == processed,
        START_TIMEOUT,
        f"the private Prometheus to scrape {processed} processed events",
        step=0.25,
    )


def _replay(pipeline: Pipeline, log: Path, expected: int) -> None:
    pipeline.run("replay", str(log), "--max", "--partitions", "3")
    pipeline.wait_counted(expected, timeout=COUNT_TIMEOUT)
    client = redis.Redis.from_url(pipeline.redis_url)
    try:
        snap = read_snapshot(client, pipeline.prefix, "event")
    finally:
        client.close()
    assert (snap.processed, snap.duplicate, sum(snap.rejected.values())) == (expected, 0, 0)


def _last_evaluation(group: dict[str, Any]) -> float:
    stamp = str(group.get("lastEvaluation") or "")
    if not stamp or stamp.startswith("0001-"):
        return 0.0
    return datetime.fromisoformat(stamp).timestamp()


def _delete_kafka(pipeline: Pipeline) -> None:
    admin = KafkaAdminClient(bootstrap_servers=pipeline.kafka_bootstrap)
    try:
        for topic in (pipeline.topic, f"{pipeline.topic}.dlq"):
            with contextlib.suppress(UnknownTopicOrPartitionError):  # e.g. no DLQ message
                admin.delete_topics([topic], timeout_ms=30_000)
        # Best effort: the group only holds committed offsets of the deleted topic.
        admin.delete_groups([f"g-{pipeline.name}"])
    finally:
        admin.close()


@pytest.fixture(scope="module")
def scenario(
    stack: list[ServiceStatus],
    stack_settings: StackSettings,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    started = datetime.now(UTC)
    run_id = uuid.uuid4().hex[:12]
    home = tmp_path_factory.mktemp("ops-e2e")
    committed = yaml.safe_load((DEPLOY / rg.ALERTMANAGER_FILE).read_text(encoding="utf-8"))
    am = _alertmanager(stack_settings, committed)

    simulated_log = home / "simulated.jsonl"
    pipeline = Pipeline(f"t-ops-e2e-{run_id}", kafka_bootstrap, redis_url, home)
    pipeline.run(
        "simulate", "--seed", str(SEED), "--dossiers", str(DOSSIERS), "--out", str(simulated_log)
    )
    simulated_lines = [line for line in simulated_log.read_text().splitlines() if line]
    simulated = _events(simulated_log)
    watermark = max(datetime.fromisoformat(e["occurred_at"]) for e in simulated)
    unit = _pick_unit(simulated, watermark, run_id)
    assert unit.supervisor is not None
    receiver, url = _webhook_route(committed, unit.supervisor)
    hook = urllib.parse.urlsplit(url)
    assert hook.hostname and hook.port, url

    planted = [json.dumps(e) for e in _planted(unit, watermark, f"ops-{run_id}")]
    first = _write(home / "phase1.jsonl", simulated_lines + planted[:FIRST_PHASE])
    second = _write(home / "phase2.jsonl", planted[FIRST_PHASE:])
    n1 = len(simulated_lines) + FIRST_PHASE
    n2 = n1 + PLANTED - FIRST_PHASE

    exporter_port = free_port()
    prometheus = PrivatePrometheus(
        home / "prometheus",
        target=f"127.0.0.1:{exporter_port}",
        job=ak.EXPORTER_JOB,
        alertmanager=f"127.0.0.1:{stack_settings.alertmanager_port}",
        external_labels={RUN_LABEL: run_id},
    )
    # Every clean-up step runs even if an earlier one fails; last registered runs first:
    # Prometheus stops before its alerts are resolved in Alertmanager.
    with contextlib.ExitStack() as cleanup:
        hooks = WebhookRecorder(hook.hostname, hook.port)  # bound before anything can alert
        cleanup.callback(hooks.close)
        cleanup.callback(resolve_run, am, RUN_LABEL, run_id)
        cleanup.callback(_delete_kafka, pipeline)
        cleanup.callback(pipeline.clean_redis)
        cleanup.callback(pipeline.stop)
        cleanup.callback(prometheus.stop)

        # The topic exists before the worker subscribes: a worker started on a missing
        # topic only sees it at its next metadata refresh, which may come too late here.
        ensure_topic(KafkaSettings(bootstrap=pipeline.kafka_bootstrap), pipeline.topic, 3)
        pipeline.start("worker", log="worker.log")
        pipeline.start(
            "exporter", "--clock", "event", "--port", str(exporter_port), log="exporter.log"
        )
        wait_until(
            lambda: _answers(f"http://{prometheus.target}/metrics"),
            START_TIMEOUT,
            "the exporter",
            step=0.2,
        )
        prometheus.start([DEPLOY / rg.RECORDING_FILE, DEPLOY / rg.ALERTS_FILE])
        prom = prometheus.api

        _replay(pipeline, first, n1)
        _wait_scraped(prom, n1)
        _replay(pipeline, second, n2)
        _wait_scraped(prom, n2)
        fed = time.time()

        # Every group (the 1-minute ones too) has evaluated on the complete data.
        wait_until(
            lambda: all(_last_evaluation(g) > fed for g in prom.rule_groups()),
            EVAL_TIMEOUT,
            "every rule group to evaluate after the last scrape of the replay",
        )
        yield Scenario(
            prom, am, hooks, unit, run_id, started, urllib.parse.unquote(hook.path), receiver
        )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


# --- the assertions -------------------------------------------------------------------------


def _committed_groups() -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for relative in (rg.RECORDING_FILE, rg.ALERTS_FILE):
        doc = yaml.safe_load((DEPLOY / relative).read_text(encoding="utf-8"))
        groups |= {g["name"]: g["rules"] for g in doc["groups"]}
    return groups


def test_every_rule_group_is_loaded_and_healthy(scenario: Scenario) -> None:
    committed = _committed_groups()
    loaded = {g["name"]: g for g in scenario.prom.rule_groups()}
    assert set(loaded) == set(committed)
    for name, rules in committed.items():
        got = loaded[name]["rules"]
        assert [r["name"] for r in got] == [r.get("record") or r["alert"] for r in rules], name
        for rule in got:
            assert rule["health"] == "ok", (name, rule["name"], rule.get("lastError"))
            assert not rule.get("lastError"), (name, rule["name"], rule["lastError"])
            if rule["type"] == "alerting":
                assert rule["duration"] == 0, (name, rule["name"])  # the rewritten `for`


def test_every_recording_rule_has_data(scenario: Scenario) -> None:
    names = rg.recorded_names(g for g in _generated_recording_groups())
    # No exception needed: the dataset has every level, receipts, completions (late ones
    # too), refusals and open-dossier gauges, and its counters grow between two scrapes, so
    # the rate-based roll-ups and the SLO error ratios (5m to 3d) have data as well; the
    # planted dossiers carry every v2 field (digitised, fee, paid online, 3 visits, rating),
    # so the new families, their ratios and every scorecard component have data too.
    empty = sorted(name for name in names if not scenario.prom.query(name))
    assert not empty, f"recorded series without data: {empty}"
    for scope, ratio in [(s, r.ratio) for s in ("level", "province") for r in ru.RATIO_ROLLUPS]:
        name = ru.ratio_rollup(scope, ratio)
        for window in ("24h", "30d"):
            result = scenario.prom.query(f'{name}{{window="{window}"}}')
            assert result, (name, window)
            for sample in result:
                assert 0.0 <= float(sample["value"][1]) <= 1.0, (name, sample)
    on_time = ru.ratio_rollup("level", c.ON_TIME_RATIO)
    levels = {s["metric"]["level"] for s in scenario.prom.query(on_time)}
    assert {"province", "commune"} <= levels
    components = {
        s["metric"]["component"]
        for s in scenario.prom.query(f'{sc.points("province")}{{window="month"}}')
    }
    assert components == {name for name, _ in c.SCORECARD_COMPONENTS}


def _generated_recording_groups() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DEPLOY / rg.RECORDING_FILE).read_text(encoding="utf-8"))
    groups: list[dict[str, Any]] = doc["groups"]
    return groups


def test_every_alert_expression_parses(scenario: Scenario) -> None:
    doc = yaml.safe_load((DEPLOY / rg.ALERTS_FILE).read_text(encoding="utf-8"))
    alerts = [r for g in doc["groups"] for r in g["rules"]]
    assert alerts
    for rule in alerts:
        answer = scenario.prom.query_raw(rule["expr"])
        assert answer["status"] == "success", (rule["alert"], answer.get("error"))


def test_dashboard_queries_parse_and_kpi_panels_have_data(scenario: Scenario) -> None:
    # The unit board shows the planted unit: it has KPIs in every default window.
    values = dashgen.SAMPLE_VARIABLES | {"unit": scenario.unit.id}
    files = sorted(DASHBOARDS.glob("*.json"))
    assert {f.name for f in files} >= set(dashgen.FILES.values())
    kpi: dict[str, int] = {}
    for path in files:
        for expr in dashgen.panel_queries(json.loads(path.read_text(encoding="utf-8"))):
            query = dashgen.expand(expr, values)
            answer = scenario.prom.query_raw(query)
            assert answer["status"] == "success", (path.name, query, answer.get("error"))
            bases = {name.split(":")[1] if ":" in name else name for name in rg.metric_names(query)}
            if bases & KPI_SERIES:
                kpi[path.name] = kpi.get(path.name, 0) + 1
                assert answer["data"]["result"], f"{path.name}: KPI panel query empty: {query}"
    assert {"ioc-wall.json", "ioc-unit.json"} <= set(kpi), kpi


def test_planted_condition_pages_the_units_supervisor(scenario: Scenario) -> None:
    prom, unit = scenario.prom, scenario.unit
    sel = f'unit="{unit.id}",window="24h"'
    assert prom.value(f"ioc_on_time_ratio{{{sel}}}") == 0.5
    assert prom.value(f"sum(ioc_window_dossiers_completed{{{sel}}})") == PLANTED
    late = f'ioc_window_dossiers_completed{{{sel},timeliness="late"}}'
    assert prom.value(late) == PLANTED_LATE

    fired = prom.wait_for_alert(ALERT, timeout=EVAL_TIMEOUT, unit=unit.id)
    # The feed grew within 15 min, so IocFeedStalled cannot inhibit it (in office hours).
    assert not [a for a in prom.alerts() if a["labels"]["alertname"] == ak.FEED_STALLED]
    assert fired["labels"]["supervisor"] == unit.supervisor
    assert fired["labels"]["level"] == "commune"
    assert fired["labels"]["name"] == unit.name  # joined from ioc_unit_info
    assert float(fired["value"]) == 0.5
    notes = fired["annotations"]
    assert notes["description"] == (
        f"Tỷ lệ đúng hạn 24 giờ của {unit.name} ({unit.id}) là 50 %, dưới mục tiêu 95 %, "
        f"tính trên {PLANTED} hồ sơ đã giải quyết; mức chênh lệch này vượt giới hạn kiểm "
        "soát 4 sigma, không phải dao động ngẫu nhiên."
    )
    assert notes["summary_en"] == f"On-time ratio of {unit.name} is below its target over 24h"
    assert notes["runbook_url"] == f"http://127.0.0.1:9480/units/{unit.id}"

    def ours(delivery: Delivery) -> list[dict[str, Any]]:
        return [
            a
            for a in delivery.payload.get("alerts", [])
            if a.get("labels", {}).get("alertname") == ALERT
            and a["labels"].get("unit") == unit.id
            and a["labels"].get(RUN_LABEL) == scenario.run_id
            and a.get("status") == "firing"
            and datetime.fromisoformat(a["startsAt"]) >= scenario.started
        ]

    def delivered() -> list[Delivery]:
        return [d for d in scenario.hooks.received() if ours(d)]

    try:
        found = wait_until(delivered, DELIVERY_TIMEOUT, f"a webhook POST with {ALERT}")
    except AssertionError:
        held = scenario.am.alerts(alertname=ALERT, unit=unit.id, **{RUN_LABEL: scenario.run_id})
        paths = sorted({d.path for d in scenario.hooks.received()})
        raise AssertionError(
            f"{ALERT} for {unit.id} was not delivered within {DELIVERY_TIMEOUT:.0f}s; "
            f"Alertmanager holds {json.dumps([a['status'] for a in held])} "
            f"(inhibited by IocFeedStalled of another source?); webhook paths seen: {paths}"
        ) from None
    for delivery in found:
        assert delivery.path == scenario.webhook_path, delivery.path
        assert delivery.path.rstrip("/").endswith(f"/{unit.supervisor}")
        assert delivery.payload["receiver"] == scenario.receiver
        assert delivery.payload["status"] == "firing"
        (alert,) = ours(delivery)
        assert alert["labels"]["supervisor"] == unit.supervisor
        assert alert["labels"]["severity"] == "ticket"
        assert alert["labels"]["feed"] == ak.FEED
