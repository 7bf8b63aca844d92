"""The streaming pipeline on the real stack equals ``ioc kpi`` on the same log.

simulate (with noise) → replay → worker(s) → Redis → exporter ``--clock event``;
every series must equal ``ioc kpi --format prometheus`` for the same file.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from services.harness import stop
from tests.integration.pipeline import Pipeline, samples
from tests.unit.ioc_monitor.ioc_testkit import key, scorecard_unit_stream
from tests.unit.ioc_monitor.ioc_testkit import samples as parse_samples

pytestmark = pytest.mark.integration


def test_stream_equals_offline(pipeline: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=400, seed=11)
    pipeline.start("worker", log="worker.log")
    pipeline.run("replay", str(log), "--max", "--partitions", "3")
    pipeline.wait_counted(n)
    scraped = pipeline.scrape_event_clock()
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=scraped.encode(), capture_output=True
    )
    assert lint.returncode == 0 and not lint.stdout and not lint.stderr, lint
    got = samples(scraped)
    expected = pipeline.expected(log)
    assert any(line.startswith("ioc_on_time_ratio{") for line in expected)
    malformed = [x for x in got if x.startswith('ioc_events_rejected_total{reason="malformed')]
    assert malformed and not malformed[0].endswith(" 0.0")  # the noise reached the DLQ path
    assert got == expected


def test_worker_killed_mid_replay(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faust reads these from the environment: the killed member leaves the group after
    # 6 s instead of 60 s. Correctness does not depend on it, only the test's duration.
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "6")
    monkeypatch.setenv("BROKER_HEARTBEAT_INTERVAL", "1")
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=1500, seed=12)
    worker = pipeline.start("worker", "--batch", "50", log="worker.log")
    replay = pipeline.start(
        "replay", str(log), "--rate", "1500", "--partitions", "3", log="replay.log"
    )
    pipeline.wait_counted(n // 3, timeout=120, poll=0.1)
    stop(worker, signal.SIGKILL)
    assert pipeline.counted() < n  # killed mid-stream, not after the end
    pipeline.start("worker", "--batch", "50", log="worker2.log")
    assert replay.wait(timeout=120) == 0
    pipeline.wait_counted(n)
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)


def test_two_workers_three_partitions(pipeline: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=800, seed=13)
    pipeline.run("replay", str(log), "--max", "--partitions", "3")
    pipeline.start("worker", "--batch", "100", log="worker-a.log")
    pipeline.start("worker", "--batch", "100", log="worker-b.log")
    pipeline.wait_counted(n)
    time.sleep(1.0)  # let any in-flight duplicate delivery of a rebalance settle
    assert pipeline.counted() == n
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)


def test_a_v2_log_streamed_equals_offline_and_the_hand_worked_figures(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Every v2 family through Kafka → worker → Redis → exporter, against ``ioc kpi``.

    The log is :func:`~tests.unit.ioc_monitor.ioc_testkit.scorecard_unit_stream` (for the
    unit ``qn-c-ha-long``), worked by hand there; at the event clock (03-20 08:00 local)
    the month scorecard is timeliness 12, online 9.6, payment 3, digitisation 1 and
    satisfaction 0; due soon 1 (24h) and 2 (72h).
    """
    unit = "qn-c-ha-long"
    log = tmp_path / "v2.jsonl"
    events = [{**e, "unit_id": unit} for e in scorecard_unit_stream()]
    log.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    pipeline.start("worker", log="worker.log")
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    pipeline.wait_counted(len(events))
    scraped = pipeline.scrape_event_clock()
    offline = pipeline.run("kpi", str(log), "--format", "prometheus", "--clock", "event").stdout
    for text in (scraped.encode(), offline):
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
        assert lint.returncode == 0 and not lint.stdout and not lint.stderr, lint
    got = samples(scraped)
    assert got == samples(offline.decode())
    series = parse_samples(scraped.encode())
    at = {"unit": unit, "level": "commune"}
    month = {**at, "window": "month"}
    for (name, labels), value in [
        (("ioc_scorecard_points", {**month, "component": "timeliness"}), 12.0),
        (("ioc_scorecard_points", {**month, "component": "online"}), 9.6),
        (("ioc_scorecard_points", {**month, "component": "payment"}), 3.0),
        (("ioc_scorecard_points", {**month, "component": "digitisation"}), 1.0),
        (("ioc_scorecard_points", {**month, "component": "satisfaction"}), 0.0),
        (("ioc_dossiers_due_soon", {**at, "within": "24h"}), 1.0),
        (("ioc_dossiers_due_soon", {**at, "within": "72h"}), 2.0),
        (("ioc_dossiers_rated_total", {**at, "rating": "unsatisfied"}), 1.0),
        (("ioc_dossiers_multi_visit_total", at), 1.0),
        (("ioc_satisfaction_ratio", month), 0.5),
        (("ioc_online_payment_ratio", month), 0.5),
    ]:
        assert float(series[key(name, **labels)]) == pytest.approx(value), (name, labels)
