"""``ioc backfill`` on the real stack: the topic up to its end, exactly once, then the worker.

Each test replays a simulated log (5 % noise, so dead letters too) into its own topic.
The figures must equal ``ioc kpi`` on the same log (worked out offline, without Redis
or Kafka); the dead-letter topic must hold one message per rejection ``ioc kpi``
counts, with its reason.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from services.harness import IOC
from streams.lease import lease_key
from tests.integration.pipeline import (
    Pipeline,
    dead_letters,
    rejections,
    samples,
    split_log,
)

pytestmark = pytest.mark.integration

#: ``ioc backfill``'s summary line.
SUMMARY = re.compile(
    r"read ([\d,]+) messages of (\d+) partitions in [\d.]+ s \([\d,]+/s\): "
    r"([\d,]+) applied, ([\d,]+) already in Redis"
)


def _backfill(pipeline: Pipeline, *args: str) -> tuple[int, int, int, int]:
    """Run ``ioc backfill ARGS``; its summary (read, partitions, applied, skipped)."""
    out = pipeline.run("backfill", "--no-progress", *args)
    found = SUMMARY.search(out.stderr.decode())
    assert found, out.stderr.decode()
    read, parts, applied, skipped = (int(g.replace(",", "")) for g in found.groups())
    return read, parts, applied, skipped


@pytest.mark.parametrize("helpers", ["0", "1", "2"])
def test_backfill_equals_offline_with_its_dead_letters(
    pipeline: Pipeline, tmp_path: Path, helpers: str
) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=300, seed=31)
    pipeline.run("replay", str(log), "--max", "--partitions", "3")
    assert _backfill(pipeline, "--helpers", helpers) == (n, 3, n, 0)
    expected = pipeline.expected(log)
    assert samples(pipeline.scrape_event_clock()) == expected
    reasons = [
        reason for _, reason in dead_letters(pipeline.kafka_bootstrap, f"{pipeline.topic}.dlq")
    ]
    assert len(reasons) == rejections(expected) > 0
    # Run again: nothing new to read, nothing changes.
    assert _backfill(pipeline, "--helpers", helpers) == (0, 3, 0, 0)
    assert samples(pipeline.scrape_event_clock()) == expected


def test_a_second_backfill_reads_only_what_came_after_the_first(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=300, seed=32)
    head, tail = split_log(log, n // 2)
    pipeline.run("replay", str(head), "--max", "--partitions", "2")
    assert _backfill(pipeline)[:3] == (n // 2, 2, n // 2)
    pipeline.run("replay", str(tail), "--max")
    assert _backfill(pipeline)[:3] == (n - n // 2, 2, n - n // 2)
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)


def test_the_worker_carries_on_where_the_backfill_stopped(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=300, seed=33)
    head, tail = split_log(log, 2 * n // 3)
    pipeline.run("replay", str(head), "--max", "--partitions", "2")
    _backfill(pipeline)
    pipeline.start("worker", log="worker.log")
    pipeline.run("replay", str(tail), "--max")
    pipeline.wait_counted(n)
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)
    assert pipeline.counted() == n  # the worker re-applied nothing of the backfill's


def test_a_backfill_beside_a_running_worker_counts_each_message_once(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=1500, seed=34)
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    pipeline.start("worker", "--batch", "20", log="worker.log")  # small batches: slow
    pipeline.wait_counted(1, timeout=120, poll=0.05)
    assert pipeline.counted() < n  # the worker is still at it
    read, _, applied, skipped = _backfill(pipeline)
    # It starts after what the worker had applied, and skips what the worker applies first.
    assert 0 < read < n and applied + skipped == read
    pipeline.wait_counted(n)
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)
    assert pipeline.counted() == n


def test_a_missing_topic_is_named(pipeline: Pipeline) -> None:
    out = subprocess.run(
        [*IOC, "backfill", "--no-progress"], env=pipeline.env(), capture_output=True, timeout=120
    )
    assert out.returncode == 1
    assert f"topic {pipeline.topic} does not exist (IOC_KAFKA_TOPIC)" in out.stderr.decode()


def test_a_backfill_waits_while_the_lease_is_held(pipeline: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=200, seed=35)
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    with pipeline.lease_held("a-worker"):  # a worker catching up; then it is done
        backfill = pipeline.start("backfill", "--no-progress", log="backfill.log")
        pipeline.wait_log("backfill.log", f"is catching up (lease {lease_key(pipeline.prefix)})")
        time.sleep(1.5)
        assert pipeline.counted() == 0  # it waits
        assert backfill.poll() is None
    assert backfill.wait(timeout=120) == 0
    out = pipeline.wait_log("backfill.log", "backfilling what is left")
    found = SUMMARY.search(out)
    assert found and found.groups() == (f"{n:,}", "2", f"{n:,}", "0")
    assert pipeline.lease() is None  # released when done
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_backfill_cleanly(
    pipeline: Pipeline, tmp_path: Path, sig: signal.Signals
) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=1500, seed=36)
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    backfill = pipeline.start("backfill", "--no-progress", "--batch", "20", log="backfill.log")
    pipeline.wait_counted(1, timeout=120, poll=0.05)
    assert pipeline.lease() is not None  # held while it runs
    backfill.send_signal(sig)
    assert backfill.wait(timeout=60) == 128 + sig
    out = (pipeline.workdir / "backfill.log").read_text()
    assert f"ioc backfill: stopped by {sig.name}; what was applied stays applied" in out
    assert "Traceback" not in out
    assert 0 < pipeline.counted() < n
    assert pipeline.lease() is None  # released on the way out
    # Run again: it carries on, and every message is counted once.
    read, _, applied, skipped = _backfill(pipeline)
    assert 0 < read < n and applied + skipped == read
    assert pipeline.counted() == n
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)
