"""``ioc wall`` end to end in a real browser, on the real stack, with known data.

One scenario per module (fixture ``scenario``):

1. a registry of four units (file ``units.yaml``): a province centre, two communes, one
   named ``<img src=x onerror=alert(1)>`` (escaping), one commune with no event;
2. hand-written events (below) replayed into a topic, consumer group and Redis prefix of
   this run, through ``ioc worker``; two ``ioc exporter --clock event`` (windows at the
   watermark T = 2025-07-11 10:00 +07:00);
3. a PRIVATE Prometheus (free port, own TSDB) scraping the first exporter every second and
   evaluating the rules that ``ioc rules generate --units units.yaml`` writes (copied with
   every ``for:`` set to ``0s``), alerting to the REAL local Alertmanager with the external
   label ``ioc_test_run=<run id>`` (resolved at teardown);
4. ``ioc wall`` (clock ``event``, alerts filtered on the run label) driven by Playwright
   with Debian's chromium (never ``playwright install``).

The events are replayed in two phases with a scrape in between, so the processed counter
grows while Prometheus watches (``IocFeedStalled`` does not fire) and the watermark moves
from T - 1 h to T.

Every figure asserted is worked out by hand from KPIS.md (see ``EXPECTED``), never by
calling the project's code. The stale banner is checked on a second Prometheus and wall
(``stall_after_s`` 3 s): watermark stalled, exporter stopped, Prometheus stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaAdminClient
from kafka.errors import UnknownTopicOrPartitionError
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page

from ioc_monitor.config import KafkaSettings, StackSettings
from services import harness
from services import panel_catalogue as pc
from services.harness import IOC, free_port
from services.ops.alertkit import EXPORTER_JOB
from services.publisher import ensure_topic
from services.stack.control import ServiceStatus
from services.wall.browser import VIEWPORT, chromium_path, launch
from services.wall.screenshots import PAGE_PATHS, capture
from tests.integration.pipeline import Pipeline
from tests.integration.promhelpers import (
    AlertmanagerApi,
    PrivatePrometheus,
    PrometheusApi,
    resolve_run,
    wait_until,
)

pytestmark = pytest.mark.integration


RUN_LABEL = "ioc_test_run"
START_TIMEOUT = 30.0
ALERT_TIMEOUT = 60.0
UI_TIMEOUT_MS = 15_000
TOKEN = "wall-secret-token-9f3c1e"  # IOC_WALL_PROMETHEUS_TOKEN: must never reach the browser
ICT = timezone(timedelta(hours=7))
T = datetime(2025, 7, 11, 10, 0, tzinfo=ICT)  # the watermark after phase 2 (event clock)
NBSP = "\u00a0"

PROVINCE = "zz-tinh"
PROVINCE_NAME = "Trung tâm Phục vụ hành chính công tỉnh Thử Nghiệm"
AN_BINH = "zz-c-an-binh"
AN_BINH_NAME = "Phường An Bình"
HOSTILE = "zz-c-hostile"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
EMPTY = "zz-c-trong"
EMPTY_NAME = "Xã Không Dữ Liệu"
REGISTRY = {
    "units": [
        {
            "id": PROVINCE,
            "name": PROVINCE_NAME,
            "level": "province",
            "on_time_target": 0.999,
            "supervisor": "sup-tinh",
        },
        {
            "id": AN_BINH,
            "name": AN_BINH_NAME,
            "level": "commune",
            "on_time_target": 0.95,
            "online_target": 0.5,
            "supervisor": "sup-an-binh",
        },
        {"id": HOSTILE, "name": HOSTILE_NAME, "level": "commune", "supervisor": "sup-x"},
        {"id": EMPTY, "name": EMPTY_NAME, "level": "commune"},
    ]
}


def pct(text: str) -> str:
    """A vi-VN percentage as the wall shows it: ``92,5`` → ``92,5 %`` (no-break space)."""
    return f"{text}{NBSP}%"


# --- the data, in hours from T --------------------------------------------------------------
#
# Province centre zz-tinh:
#   P1 1,000 received online at T-3h, due T+48h (in progress, due within 72 h);
#   P2    20 received in person at T-30h, processing, due T+10h (due within 24 h);
#   P3     5 received at T-120h, processing, due T-1h (overdue);
#   P4    40 returned at T-2h, received at T-20h (30 online, 10 in person): 37 due T+24h
#         (ended the day before the due date: early), 3 due T-3h (late).
# Phường An Bình zz-c-an-binh (A1 returned at T-1h, received at T-10h, #0-3 online):
#   A1    10: #0,#1 due T-2h (late), the rest due T+5h, same day (on time); #2,#3,#4
#         digitised; #5,#6,#7 with a fee, #5,#6 paid online; ratings #5,#6 satisfied,
#         #7 unsatisfied; #9 made 3 visits;
#   A2     3 received at T-144h, processing, due T-48h, T-24h, T-3h (overdue);
#   A3     2 received at T-30h, due T+5h and T+30h (due soon).
# <img ...> zz-c-hostile: H1 4 returned at T-4h, received in person at T-8h, due T+48h.
# Xã Không Dữ Liệu zz-c-trong: nothing.
# Plus one event of an unknown unit, one without occurred_at (schema), one duplicate of
# H1 #0. Phase 2: one more event of P1 #0 at T (moves the watermark, changes no figure).

PROCEDURES = {  # the An Bình dossiers listed on its page: id → (procedure, agency)
    "H41.31-250705-0001": ("2.000305", "ubnd-an-binh"),
    "H41.31-250705-0002": ("1.001612", "so-xd"),
    "H41.31-250705-0003": ("1.000894", "so-tnmt"),
    "H41.31-250710-0001": ("2.002161", "ubnd-an-binh"),
    "H41.31-250710-0002": ("1.003003", "so-tp"),
}


def _at(hours: float) -> str:
    return (T + timedelta(hours=hours)).isoformat()


def _event(
    dossier: str,
    unit: str,
    status: str,
    occurred: float,
    received: float,
    due: float,
    **extra: Any,
) -> dict[str, Any]:
    procedure, agency = PROCEDURES.get(dossier, ("1.004227", "so-tnmt"))
    event = {
        "event_id": f"{dossier}-{status}-{occurred}",
        "dossier_id": dossier,
        "procedure_code": procedure,
        "unit_id": unit,
        "agency_id": agency,
        "status": status,
        "occurred_at": _at(occurred),
        "received_at": _at(received),
        "due_at": _at(due),
        "channel": "in_person",
    }
    if status == "returned":
        event["ended_at"] = _at(occurred)
    event.update(extra)
    return event


ONLINE = {"channel": "online", "online_mode": "full"}


def dataset() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(phase 1, phase 2) events, as described above."""
    first: list[dict[str, Any]] = []
    add = first.append
    for i in range(1000):
        add(_event(f"H41.01-250711-{i:04d}", PROVINCE, "received", -3, -3, 48, **ONLINE))
    for i in range(20):
        add(_event(f"H41.01-250710-{i:04d}", PROVINCE, "processing", -29, -30, 10))
    for i in range(5):
        add(_event(f"H41.01-250706-{i:04d}", PROVINCE, "processing", -100, -120, -1))
    for i in range(40):
        channel = ONLINE if i < 30 else {}
        add(
            _event(
                f"H41.01-R{i:04d}", PROVINCE, "returned", -2, -20, 24 if i >= 3 else -3, **channel
            )
        )
    for i in range(10):
        extra: dict[str, Any] = dict(ONLINE) if i < 4 else {}
        extra["digitized"] = i in (2, 3, 4)
        if i in (5, 6, 7):
            extra["fee_required"] = True
            extra["paid_online"] = i != 7
            extra["rating"] = "satisfied" if i != 7 else "unsatisfied"
        extra["visits"] = 3 if i == 9 else 1
        due = -2 if i < 2 else 5
        add(_event(f"H41.31-250711-{i:04d}", AN_BINH, "returned", -1, -10, due, **extra))
    for n, due in enumerate((-48, -24, -3), start=1):
        add(_event(f"H41.31-250705-{n:04d}", AN_BINH, "processing", -120, -144, due))
    for n, due in enumerate((5, 30), start=1):
        add(_event(f"H41.31-250710-{n:04d}", AN_BINH, "received", -30, -30, due))
    hostile = [_event(f"H41.41-{i:04d}", HOSTILE, "returned", -4, -8, 48) for i in range(4)]
    first += hostile
    add(_event("X-1", "zz-khong-co", "received", -1, -1, 5))  # unknown_unit
    add({"event_id": "bad-2", "dossier_id": "X-2", "unit_id": PROVINCE, "status": "received"})
    add(dict(hostile[0]))  # duplicate
    second = [_event("H41.01-250711-0000", PROVINCE, "processing", 0, -3, 48, **ONLINE)]
    return first, second


ACCEPTED_1 = 1000 + 20 + 5 + 40 + 10 + 3 + 2 + 4  # 1,084 events accepted in phase 1
CONSUMED_1 = ACCEPTED_1 + 3  # + unknown_unit, schema, duplicate
CONSUMED_2 = CONSUMED_1 + 1

# Worked out by hand from KPIS.md at T (vi-VN: decimal comma, "." for thousands).
EXPECTED = {
    # Province overall, 24 h: completed 40 + 10 + 4 = 54, early/on time 37 + 8 + 4 = 49.
    "province_on_time_24h": pct("90,7"),  # 49 / 54 = 0.9074
    # Received in 24 h: P1 1000 + P4 40 + A1 10 + H1 4 = 1,054; online 1000 + 30 + 4 = 1,034.
    "province_online_24h": pct("98,1"),  # 1034 / 1054 = 0.9810
    # 30 days: + P2 20, P3 5, A2 3, A3 2 received = 1,084, online still 1,034.
    "province_online_30d": pct("95,4"),  # 1034 / 1084 = 0.9539
    "province_in_progress": "1.030",  # P1 1000 + P2 20 + P3 5 + A2 3 + A3 2
    "province_overdue": "8",  # P3 5 + A2 3
    "province_due_24h": "21",  # P2 20 (T+10h) + A3 #1 (T+5h)
    "province_due_72h": "1.022",  # + P1 1000 (T+48h) + A3 #2 (T+30h)
    # Levels: the province level is the centre alone.
    "centre_on_time_24h": pct("92,5"),  # 37 / 40
    "centre_online_24h": pct("99,0"),  # 1030 / 1040 = 0.9904
    "centre_online_30d": pct("96,7"),  # 1030 / 1065 = 0.9671
    # Commune level: An Bình + <img>: completed 10 + 4, on time 8 + 4.
    "commune_on_time_24h": pct("85,7"),  # 12 / 14 = 0.8571
    "commune_online_24h": pct("28,6"),  # 4 / 14 = 0.2857
    "commune_online_30d": pct("21,1"),  # 4 / 19 = 0.2105
    # An Bình: on time 8 / 10; online 4 / 10 (24 h), 4 / 15 (30 d and July).
    "an_binh_on_time_24h": pct("80,0"),
    "an_binh_online_24h": pct("40,0"),
    "an_binh_online_30d": pct("26,7"),
    # Scorecard, month (R 15, O 4, D 3, C 10, G 8, L 2, F 3, P 2, U 1, I 5, V 3):
    #   timeliness 20 × (8 + 5 − 3) / (10 + 5) = 13.33; online 12 × (4/15) / 0.5 = 6.40;
    #   payment 6 × 2/3 = 4.00; digitisation 2 × (3/15) / 0.8 = 0.50;
    #   satisfaction 6 × (1 − (2 + 1)/10) / 0.9 = 4.67; total 28.90 of 46 = 0.6283.
    "an_binh_card": ["13,3", "6,4", "4,0", "0,5", "4,7"],
    "an_binh_score": "28,9 / 46 điểm",
    "an_binh_score_ratio": pct("62,8"),
    # <img>: timeliness 20 × 4/4 = 20, online 0, digitisation 0, satisfaction 6 × min(1,
    #   1 / 0.9) = 6 (payment not exposed: no fee) → 26 of 40 = 0.65.
    "hostile_score": "26,0 / 40 điểm",
    "hostile_score_ratio": pct("65,0"),
    # Centre: timeliness 20 × (37 + 1025 − 5) / (40 + 1025) = 19.85, online 12 (96.7 % ≥ 50 %),
    #   digitisation 0, satisfaction 6 × min(1, (1 − 3/40) / 0.9) = 6 → 37.85 of 40 = 0.9462.
    "centre_score": "37,8 / 40 điểm",
    "centre_score_ratio": pct("94,6"),
}


# --- processes -----------------------------------------------------------------------------


def _get(
    url: str, method: str = "GET", host: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    if host is not None:
        request.add_header("Host", host)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@dataclass
class WallProcess:
    """One ``ioc wall`` sub-process with its own settings."""

    pipeline: Pipeline
    prometheus: str
    run_id: str
    log: str
    extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, alertmanager: str) -> None:
        env = {k: v for k, v in self.pipeline.env().items() if not k.startswith("IOC_WALL_")}
        env.update(
            IOC_WALL_PORT=str(self.port),
            IOC_WALL_PROMETHEUS_URL=self.prometheus,
            IOC_WALL_PROMETHEUS_TOKEN=TOKEN,
            IOC_WALL_ALERTMANAGER_URL=alertmanager,
            IOC_WALL_ALERT_FILTER=f'{RUN_LABEL}="{self.run_id}"',
            IOC_WALL_CLOCK="event",
            IOC_WALL_REFRESH_S="1",
            IOC_WALL_ROTATE_S="3",
            IOC_WALL_HISTORY_S="600",
        )
        env.update(self.extra)
        for _attempt in range(3):  # another run on this machine may take the port first
            env["IOC_WALL_PORT"] = str(self.port)
            self.proc = _start(
                [*IOC, "wall"], self.pipeline.workdir / self.log, env, f"{self.url}/healthz"
            )
            if self.proc is not None:
                self.pipeline.procs.append(self.proc)
                return
            self.port = free_port()
        pytest.fail(f"ioc wall did not start, see {self.pipeline.workdir / self.log}")


def _start(
    argv: list[str], log: Path, env: dict[str, str], probe: str
) -> subprocess.Popen[bytes] | None:
    """Start a server and wait until ``probe`` answers while it runs; None if it exited."""
    proc = harness.spawn(argv, log, env=env)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        if _answers(probe):
            time.sleep(0.2)  # answered by us, not by a process that held the port before
            if proc.poll() is None:
                return proc
            return None
        time.sleep(0.2)
    harness.stop(proc)
    return None


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


@dataclass
class Scenario:
    pipeline: Pipeline
    prometheus: PrivatePrometheus
    wall: WallProcess
    run_id: str
    rules: list[Path]
    spare_exporter: str
    spare_proc: subprocess.Popen[bytes]
    alertmanager: str


def _jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def _delete_kafka(pipeline: Pipeline) -> None:
    admin = KafkaAdminClient(bootstrap_servers=pipeline.kafka_bootstrap)
    try:
        for topic in (pipeline.topic, f"{pipeline.topic}.dlq"):
            with contextlib.suppress(UnknownTopicOrPartitionError):
                admin.delete_topics([topic], timeout_ms=30_000)
        with contextlib.suppress(Exception):
            admin.delete_groups([f"g-{pipeline.name}"])
    finally:
        admin.close()


def _replay(
    pipeline: Pipeline, prom: PrometheusApi, log: Path, counted: int, processed: int
) -> None:
    pipeline.run("replay", str(log), "--max", "--partitions", "3")
    pipeline.wait_counted(counted, timeout=120)
    seen: list[float | None] = []

    def scraped() -> bool:
        seen.append(prom.value("max(ioc_events_processed_total)"))
        return seen[-1] == processed

    try:
        wait_until(scraped, START_TIMEOUT, f"Prometheus to scrape {processed} processed", 0.25)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it saw {sorted(set(seen), key=str)}") from None


@pytest.fixture(scope="module")
def scenario(
    stack: list[ServiceStatus],
    stack_settings: StackSettings,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    run_id = uuid.uuid4().hex[:12]
    home = tmp_path_factory.mktemp("wall")
    units = home / "units.yaml"
    units.write_text(yaml.safe_dump(REGISTRY, allow_unicode=True), encoding="utf-8")
    pipeline = Pipeline(
        f"t-wall-{run_id}",
        kafka_bootstrap,
        redis_url,
        home,
        extra_env={"IOC_UNITS_FILE": str(units)},
    )
    generated = home / "deploy"
    pipeline.run("rules", "generate", "--units", str(units), "--out-dir", str(generated))
    rules = sorted((generated / "prometheus" / "rules").glob("*.yml"))
    first, second = dataset()
    phase1, phase2 = _jsonl(home / "phase1.jsonl", first), _jsonl(home / "phase2.jsonl", second)
    alertmanager = f"http://127.0.0.1:{stack_settings.alertmanager_port}"
    am = AlertmanagerApi(alertmanager)
    prometheus = PrivatePrometheus(
        home / "prometheus",
        target="",  # set once the exporter runs
        job=EXPORTER_JOB,
        alertmanager=f"127.0.0.1:{stack_settings.alertmanager_port}",
        external_labels={RUN_LABEL: run_id},
    )
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(resolve_run, am, RUN_LABEL, run_id)
        cleanup.callback(_delete_kafka, pipeline)
        cleanup.callback(pipeline.clean_redis)
        cleanup.callback(pipeline.stop)
        cleanup.callback(prometheus.stop)

        ensure_topic(KafkaSettings(bootstrap=kafka_bootstrap), pipeline.topic, 3)
        pipeline.start("worker", log="worker.log")
        exporters = []
        for log in ("exporter.log", "exporter-spare.log"):
            for _attempt in range(3):  # another run on this machine may take the port first
                port = free_port()
                argv = [*IOC, "exporter", "--clock", "event", "--port", str(port)]
                proc = _start(argv, home / log, pipeline.env(), f"http://127.0.0.1:{port}/metrics")
                if proc is not None:
                    pipeline.procs.append(proc)
                    exporters.append((port, proc))
                    break
            else:
                pytest.fail(f"ioc exporter did not start, see {home / log}")
        (exporter_port, _), (spare_port, spare_proc) = exporters
        prometheus.target = f"127.0.0.1:{exporter_port}"
        prometheus.start(rules)
        prom = prometheus.api
        _replay(pipeline, prom, phase1, CONSUMED_1, ACCEPTED_1)
        _replay(pipeline, prom, phase2, CONSUMED_2, ACCEPTED_1 + 1)
        wall = WallProcess(pipeline, prometheus.url, run_id, "wall.log")
        wall.start(alertmanager)
        # The roll-ups have evaluated on the complete data, and the alert reached Alertmanager.
        wait_until(
            lambda: (
                prom.value("province:ioc_dossiers_in_progress:sum") == 1030
                and prom.value('province:ioc_on_time_ratio:window{window="24h"}') is not None
            ),
            START_TIMEOUT,
            "the roll-ups of the complete data",
            0.25,
        )
        am.wait_for_alert(
            "IocOnTimeBelowTarget24h", timeout=ALERT_TIMEOUT, unit=PROVINCE, **{RUN_LABEL: run_id}
        )
        yield Scenario(
            pipeline,
            prometheus,
            wall,
            run_id,
            rules,
            f"127.0.0.1:{spare_port}",
            spare_proc,
            alertmanager,
        )


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if chromium_path() is None:
        message = "chromium not found: `ioc stack up` installs the Debian package chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with launch() as b:
        yield b


@dataclass
class Watched:
    """A page and what it reported: console errors, uncaught errors, dialogs."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    """A 1920×1080 page; the test fails on a console error, a page error or a dialog."""
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    page.set_default_timeout(UI_TIMEOUT_MS)
    w = Watched(page)
    page.on("console", w.console)
    page.on("pageerror", lambda exc: w.errors.append(f"page error: {exc}"))
    page.on("dialog", w.dialog)
    yield w
    page.close()
    assert not w.dialogs, f"a dialog opened (script ran): {w.dialogs}"
    assert not w.errors, f"console errors: {w.errors}"


def _open(w: Watched, url: str, page: str) -> Page:
    w.page.goto(url)
    w.page.wait_for_selector(f'main[data-page="{page}"] .page')
    return w.page


def _text(page: Page, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


def _tile(page: Page, tile: str) -> str:
    return _text(page, f'[data-tile="{tile}"] .tile-value')


def _lines(page: Page, tile: str) -> list[str]:
    return [t.strip() for t in page.locator(f'[data-tile="{tile}"] .tile-line').all_inner_texts()]


def _cells(page: Page, row: str) -> list[str]:
    return [c.strip() for c in page.locator(f"{row} td").all_inner_texts()]


# --- the pages -----------------------------------------------------------------------------


def test_overview_in_vietnamese(scenario: Scenario, watched: Watched) -> None:
    page = _open(watched, scenario.wall.url + "/", "overview")
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert _text(page, "nav a[aria-current=page]") == "Tổng quan"
    assert _text(page, '[data-tile="on_time"] .tile-label') == "Tỷ lệ đúng hạn · 24 giờ qua"
    assert _tile(page, "on_time") == EXPECTED["province_on_time_24h"]
    assert _tile(page, "online") == EXPECTED["province_online_24h"]
    assert f"30 ngày qua: {EXPECTED['province_online_30d']}" in _lines(page, "online")
    assert _tile(page, "in_progress") == EXPECTED["province_in_progress"]
    assert _tile(page, "overdue") == EXPECTED["province_overdue"]
    assert _tile(page, "due_soon_24h") == EXPECTED["province_due_24h"]
    assert _tile(page, "due_soon_72h") == EXPECTED["province_due_72h"]
    # The units with overdue dossiers, by name, most first: the centre (5), An Bình (3).
    rows = page.locator('[data-table="worst"] tbody tr')
    assert rows.count() == 2
    assert _cells(page, f'[data-table="worst"] tr[data-unit="{PROVINCE}"]') == [
        PROVINCE_NAME,
        "Cấp tỉnh",
        "5",
    ]
    assert rows.nth(1).get_attribute("data-unit") == AN_BINH
    # Figure titles come from the panel catalogue (the Grafana boards' titles too).
    assert _text(page, '[data-tile="due_soon_24h"] .tile-label') == "Đến hạn trong 24 giờ"
    assert _text(page, ".columns .panel h2") == pc.WORST_OVERDUE.title.vi
    assert page.locator("main").inner_text().count("kpi.") == 0
    assert page.locator("#banner").is_hidden()
    assert page.locator('figure[data-chart="ratios"] canvas').count() == 1


def test_language_switch_to_english_and_back(scenario: Scenario, watched: Watched) -> None:
    page = _open(watched, scenario.wall.url + "/", "overview")
    page.click("#lang")
    page.wait_for_selector('main[data-page="overview"] .page')
    assert "lang=en" in page.url
    assert page.evaluate("document.documentElement.lang") == "en"
    assert _text(page, "nav a[aria-current=page]") == "Overview"
    assert _text(page, '[data-tile="on_time"] .tile-label') == "On-time ratio · Last 24 h"
    assert _tile(page, "on_time") == "90.7%"
    assert _tile(page, "in_progress") == "1,030"
    assert _tile(page, "due_soon_72h") == "1,022"
    assert _text(page, '[data-tile="due_soon_72h"] .tile-label') == pc.DUE_SOON[1].title.en
    # Links keep the language.
    page.click('nav a[data-page="levels"]')
    page.wait_for_selector('main[data-page="levels"] .page')
    assert page.url.endswith("/levels?lang=en")
    assert _text(page, '[data-table="levels"] tr[data-level="commune"] td') == "Commune level"
    page.click("#lang")
    page.wait_for_selector('main[data-page="levels"] .page')
    assert _text(page, '[data-table="levels"] tr[data-level="commune"] td') == "Cấp xã"


def test_levels(scenario: Scenario, watched: Watched) -> None:
    page = _open(watched, scenario.wall.url + "/levels", "levels")
    # Level, units, on time 24h/30d/month, target, online 24h/30d, in progress, overdue,
    # due 24h/72h (the scorecard column comes from a rule evaluated once a minute).
    assert _cells(page, 'tr[data-level="province"]')[:12] == [
        "Cấp tỉnh",
        "1",
        *[EXPECTED["centre_on_time_24h"]] * 3,
        pct("99,9"),
        EXPECTED["centre_online_24h"],
        EXPECTED["centre_online_30d"],
        "1.025",
        "5",
        "20",
        "1.020",
    ]
    assert _cells(page, 'tr[data-level="commune"]')[:12] == [
        "Cấp xã",
        "3",
        *[EXPECTED["commune_on_time_24h"]] * 3,
        pct("95,0"),
        EXPECTED["commune_online_24h"],
        EXPECTED["commune_online_30d"],
        "5",
        "3",
        "1",
        "2",
    ]
    assert page.locator('tr[data-level="district"]').count() == 0


def test_units_ranked_by_scorecard_with_a_hostile_name_shown_as_text(
    scenario: Scenario, watched: Watched
) -> None:
    page = _open(watched, scenario.wall.url + "/units", "units")
    communes = page.locator('[data-level="commune"] tbody tr')
    assert [communes.nth(i).get_attribute("data-unit") for i in range(3)] == [
        HOSTILE,  # 26 / 40 = 65,0 %
        AN_BINH,  # 28,9 / 46 = 62,8 %
        EMPTY,  # no data: no rank
    ]
    assert _cells(page, f'tr[data-unit="{HOSTILE}"]')[:5] == [
        "1",
        HOSTILE_NAME,
        EXPECTED["hostile_score"],
        EXPECTED["hostile_score_ratio"],
        pct("100,0"),
    ]
    assert _cells(page, f'tr[data-unit="{AN_BINH}"]')[:7] == [
        "2",
        AN_BINH_NAME,
        EXPECTED["an_binh_score"],
        EXPECTED["an_binh_score_ratio"],
        EXPECTED["an_binh_on_time_24h"],
        EXPECTED["an_binh_on_time_24h"],
        pct("95,0"),
    ]
    assert _cells(page, f'tr[data-unit="{EMPTY}"]')[:4] == ["—", EMPTY_NAME, "—", "—"]
    assert _cells(page, f'tr[data-unit="{PROVINCE}"]')[:4] == [
        "1",
        PROVINCE_NAME,
        EXPECTED["centre_score"],
        EXPECTED["centre_score_ratio"],
    ]
    # The registry's hostile name is text: no element was made of it, no script ran.
    assert page.locator("main img").count() == 0
    link = page.locator(f'tr[data-unit="{HOSTILE}"] a')
    assert link.inner_text() == HOSTILE_NAME
    assert link.get_attribute("href") == f"/units/{HOSTILE}"
    # Unit ids are not shown, names are.
    assert AN_BINH not in page.locator("main").inner_text()


def test_unit_page_with_its_overdue_and_due_soon_dossiers(
    scenario: Scenario, watched: Watched
) -> None:
    page = _open(watched, scenario.wall.url + "/units", "units")
    page.click(f'tr[data-unit="{AN_BINH}"] a')
    page.wait_for_selector(f'main[data-page="unit"] .page[data-unit="{AN_BINH}"]')
    assert page.url.endswith(f"/units/{AN_BINH}")
    assert _text(page, ".unit-name") == AN_BINH_NAME
    assert "Người phụ trách: sup-an-binh" in _text(page, ".page-unit .note")
    assert _tile(page, "on_time") == EXPECTED["an_binh_on_time_24h"]
    assert _lines(page, "on_time") == [
        f"30 ngày qua: {EXPECTED['an_binh_on_time_24h']}",
        f"Tháng này: {EXPECTED['an_binh_on_time_24h']}",
        f"Chỉ tiêu {pct('95,0')}",
    ]
    assert _tile(page, "online") == EXPECTED["an_binh_online_24h"]
    assert f"30 ngày qua: {EXPECTED['an_binh_online_30d']}" in _lines(page, "online")
    assert f"Chỉ tiêu {pct('50,0')}" in _lines(page, "online")
    assert [_tile(page, t) for t in ("in_progress", "overdue", "due_soon_24h", "due_soon_72h")] == [
        "5",
        "3",
        "1",
        "2",
    ]
    assert _tile(page, "scorecard") == EXPECTED["an_binh_score_ratio"]
    card = page.locator('[data-table="scorecard"]')
    for component, points in zip(
        ("timeliness", "online", "payment", "digitisation", "satisfaction"),
        EXPECTED["an_binh_card"],
        strict=True,
    ):
        month = card.locator(f'tr[data-component="{component}"] td').nth(1).inner_text()
        assert month.strip() == points, component
    # Overdue first, most late first, then due soon by due time; local time (UTC+7).
    rows = page.locator('[data-table="dossiers"] tbody tr')
    got = [
        " | ".join(c.strip() for c in rows.nth(i).locator("td").all_inner_texts())
        for i in range(rows.count())
    ]
    assert got == [
        "H41.31-250705-0001 | 2.000305 | ubnd-an-binh | 05/07/2025 10:00 | 09/07/2025 10:00 | "
        "Quá hạn 2 ngày",
        "H41.31-250705-0002 | 1.001612 | so-xd | 05/07/2025 10:00 | 10/07/2025 10:00 | "
        "Quá hạn 1 ngày",
        "H41.31-250705-0003 | 1.000894 | so-tnmt | 05/07/2025 10:00 | 11/07/2025 07:00 | "
        "Quá hạn 3 giờ",
        "H41.31-250710-0001 | 2.002161 | ubnd-an-binh | 10/07/2025 04:00 | 11/07/2025 15:00 | "
        "Còn 5 giờ",
        "H41.31-250710-0002 | 1.003003 | so-tp | 10/07/2025 04:00 | 12/07/2025 16:00 | "
        "Còn 1 ngày 6 giờ",
    ]
    assert page.locator('figure[data-chart="ratios"] canvas').count() == 1
    assert page.locator('figure[data-chart="open"] canvas').count() == 1
    # English: the same list, translated.
    page.click("#lang")
    page.wait_for_selector('main[data-page="unit"] [data-table="dossiers"]')
    last = page.locator('[data-table="dossiers"] tbody tr').nth(4).locator("td").last
    assert last.inner_text().strip() == "Due in 1 d 6 h"


def test_unknown_unit_page(scenario: Scenario, watched: Watched) -> None:
    page = watched.page
    status, _, _ = _get(f"{scenario.wall.url}/api/units/zz-khong-co")
    assert status == 404
    watched.page.goto(f"{scenario.wall.url}/units/zz-khong-co")
    page.wait_for_selector('main[data-page="unit"] .page')
    assert "Không tìm thấy đơn vị này" in _text(page, "main")
    # The 404 of the API is logged by Chromium as a failed resource, which is expected here.
    watched.errors[:] = [e for e in watched.errors if "404" not in e]


def test_alerts_firing_now_with_the_supervisor(scenario: Scenario, watched: Watched) -> None:
    page = _open(watched, scenario.wall.url + "/alerts", "alerts")
    row = page.locator(
        f'[data-table="alerts"] tr[data-alert="IocOnTimeBelowTarget24h"][data-unit="{PROVINCE}"]'
    )
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[:4] == [
        "Cần xử lý",
        "Tỷ lệ đúng hạn 24 giờ dưới chỉ tiêu",
        PROVINCE_NAME,
        "sup-tinh",
    ]
    # Active, or inhibited when another feed's IocFeedStalled (a running demo) fires.
    assert cells[5] in ("Đang kích hoạt", "Bị ức chế")
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", cells[4]), cells[4]


def test_pipeline_health(scenario: Scenario, watched: Watched) -> None:
    page = _open(watched, scenario.wall.url + "/pipeline", "pipeline")
    assert _tile(page, "processed") == "1.085"  # 1,084 + 1 accepted
    assert _tile(page, "duplicate") == "1"
    assert _tile(page, "watermark") == "11/07/2025 10:00"
    assert _tile(page, "exporter") == "Hoạt động"
    assert _tile(page, "redis") == "Hoạt động"
    reasons = {
        _cells(page, f'tr[data-reason="{r}"]')[0]: _cells(page, f'tr[data-reason="{r}"]')[1]
        for r in ("unknown_unit", "schema")
    }
    assert reasons == {"Đơn vị không có trong danh mục": "1", "Sai cấu trúc dữ liệu": "1"}
    assert page.locator('[data-table="rejected"] tbody tr').count() == 2
    assert page.locator('[data-table="lag"] tbody tr').count() >= 1


def test_kiosk_mode_large_type_and_rotation(scenario: Scenario, watched: Watched) -> None:
    page = _open(watched, scenario.wall.url + "/?kiosk=1", "overview")
    assert page.evaluate("document.body.classList.contains('kiosk')")
    size = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.tile-value')).fontSize)"
    )
    assert size >= 60, size  # 3.6rem of 20 px: readable across the room
    # IOC_WALL_ROTATE_S=3: the next page comes by itself, keeping ?kiosk=1.
    page.wait_for_selector('main[data-page="levels"] .page', timeout=10_000)
    assert "kiosk=1" in page.url and "/levels" in page.url


# --- stale data ----------------------------------------------------------------------------


def test_stale_banner_stalled_watermark_exporter_down_prometheus_down(
    scenario: Scenario, watched: Watched, tmp_path: Path
) -> None:
    """A second Prometheus (scraping the spare exporter) and wall with a 3 s stall limit."""
    prom = PrivatePrometheus(
        tmp_path / "prometheus",
        scenario.spare_exporter,
        EXPORTER_JOB,
        external_labels={RUN_LABEL: scenario.run_id},
    )
    try:
        prom.start(scenario.rules)
        wait_until(
            lambda: prom.api.value("max(ioc_events_processed_total)") == ACCEPTED_1 + 1,
            START_TIMEOUT,
            "the second Prometheus to scrape",
            0.25,
        )
        wall = WallProcess(
            scenario.pipeline,
            prom.url,
            scenario.run_id,
            "wall-stale.log",
            extra={"IOC_WALL_STALL_AFTER_S": "3"},
        )
        wall.start(scenario.alertmanager)
        page = _open(watched, wall.url + "/", "overview")
        banner = page.locator("#banner")
        # No new event: the watermark stands still for 3 s.
        page.wait_for_selector('#banner li[data-problem="watermark_stalled"]')
        assert banner.is_visible()
        assert _text(page, ".banner-title") == "⚠ Dữ liệu có thể đã cũ"
        assert "Không có sự kiện mới từ" in _text(page, '[data-problem="watermark_stalled"]')
        # The exporter stops answering: up == 0; the last figures stay on screen.
        harness.stop(scenario.spare_proc)
        page.wait_for_selector('#banner li[data-problem="exporter_down"]')
        assert (
            _text(page, '[data-problem="exporter_down"]')
            == "Prometheus không thu thập được số liệu từ exporter"
        )
        time.sleep(2)  # two refreshes with the series gone
        assert _tile(page, "on_time") == EXPECTED["province_on_time_24h"]
        # Prometheus stops: the banner says so and the last figures stay on screen.
        prom.stop()
        page.wait_for_selector('#banner li[data-problem="prometheus_unreachable"]')
        assert (
            _text(page, '[data-problem="prometheus_unreachable"]')
            == "Không kết nối được Prometheus"
        )
        assert "Số liệu đang hiển thị cập nhật lúc" in _text(page, ".banner-last")
        assert _tile(page, "on_time") == EXPECTED["province_on_time_24h"]
    finally:
        prom.stop()
        # The wall's own answers of 503 are logged by Chromium as failed resources: expected.
        watched.errors[:] = [e for e in watched.errors if "503" not in e]


# --- HTTP: read-only, CSP, no secrets ------------------------------------------------------


def test_http_is_read_only_with_a_strict_csp_and_no_secret(scenario: Scenario) -> None:
    base = scenario.wall.url
    status, headers, body = _get(base + "/")
    assert status == 200
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    html = body.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert "<style" not in html and " style=" not in html
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, _ = _get(base + "/api/overview", method=method)
        assert status == 405, method
        assert headers["allow"] == "GET, HEAD"
    assert _get(base + "/", host="evil.example")[0] == 400  # DNS rebinding
    assert _get(base + "/api/units/ZZ-BAD")[0] == 404
    assert _get(base + "/units/..%2f..%2fetc")[0] == 404
    prom_port = str(scenario.prometheus.port)
    for path in (
        "/",
        "/api/config",
        "/api/health",
        "/api/overview",
        "/api/units",
        "/static/js/main.js",
    ):
        status, _, body = _get(base + path)
        assert status == 200, path
        assert TOKEN.encode() not in body, path
        assert f":{prom_port}".encode() not in body, path  # the browser never learns it
    status, headers, body = _get(base + "/static/vendor/uplot/LICENSE")
    assert status == 200 and b"MIT" in body


# --- screenshots ---------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_screenshots_of_every_page(scenario: Scenario, browser: Browser, tmp_path: Path) -> None:
    """``ioc wall screenshots``' capture (IOC_WALL_SCREENSHOTS_DIR: also keep them there)."""
    out = Path(os.environ.get("IOC_WALL_SCREENSHOTS_DIR") or tmp_path)
    written = capture(scenario.wall.url, out, unit=AN_BINH, settle_s=0.5, browser=browser)
    assert [p.name for p in written] == [f"wall-{name}.png" for name in PAGE_PATHS]
    for path in written:
        assert _png_size(path) == (VIEWPORT["width"], VIEWPORT["height"]), path
