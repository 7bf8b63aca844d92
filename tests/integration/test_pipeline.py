"""The streaming pipeline on the real stack equals ``ioc kpi`` on the same log.

simulate (with noise) → replay → worker(s) → Redis → exporter ``--clock event``;
every series must equal ``ioc kpi --format prometheus`` for the same file.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from services.harness import stop
from tests.integration.pipeline import Pipeline, samples

pytestmark = pytest.mark.integration


def _simulate(p: Pipeline, path: Path, dossiers: int, seed: int) -> int:
    p.run(
        "simulate",
        "--seed",
        str(seed),
        "--dossiers",
        str(dossiers),
        "--noise",
        "0.05",
        "--out",
        str(path),
    )
    lines = [line for line in path.read_bytes().split(b"\n") if line]
    assert len(lines) > dossiers  # several events per dossier, plus noise
    return len(lines)


def _expected(p: Pipeline, path: Path) -> list[str]:
    out = p.run("kpi", str(path), "--format", "prometheus", "--clock", "event").stdout
    return samples(out.decode())


def test_stream_equals_offline(pipeline: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    n = _simulate(pipeline, log, dossiers=400, seed=11)
    pipeline.start("worker", log="worker.log")
    pipeline.run("replay", str(log), "--max", "--partitions", "3")
    pipeline.wait_counted(n)
    scraped = pipeline.scrape_event_clock()
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=scraped.encode(), capture_output=True
    )
    assert lint.returncode == 0 and not lint.stdout and not lint.stderr, lint
    got = samples(scraped)
    expected = _expected(pipeline, log)
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
    n = _simulate(pipeline, log, dossiers=1500, seed=12)
    worker = pipeline.start("worker", "--batch", "50", log="worker.log")
    replay = pipeline.start(
        "replay", str(log), "--rate", "1500", "--partitions", "3", log="replay.log"
    )
    deadline = time.monotonic() + 120
    while pipeline.counted() < n // 3:
        assert time.monotonic() < deadline, "worker made no progress"
        time.sleep(0.1)
    stop(worker, signal.SIGKILL)
    assert pipeline.counted() < n  # killed mid-stream, not after the end
    pipeline.start("worker", "--batch", "50", log="worker2.log")
    assert replay.wait(timeout=120) == 0
    pipeline.wait_counted(n)
    assert samples(pipeline.scrape_event_clock()) == _expected(pipeline, log)


def test_two_workers_three_partitions(pipeline: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    n = _simulate(pipeline, log, dossiers=800, seed=13)
    pipeline.run("replay", str(log), "--max", "--partitions", "3")
    pipeline.start("worker", "--batch", "100", log="worker-a.log")
    pipeline.start("worker", "--batch", "100", log="worker-b.log")
    pipeline.wait_counted(n)
    time.sleep(1.0)  # let any in-flight duplicate delivery of a rebalance settle
    assert pipeline.counted() == n
    assert samples(pipeline.scrape_event_clock()) == _expected(pipeline, log)
