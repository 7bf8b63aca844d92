"""``ioc worker`` far behind its topic catches up as ``ioc backfill`` reads, then runs Faust.

Each test replays a simulated log (5 % noise, so dead letters too) into its own topic and
lowers ``IOC_WORKER_CATCH_UP`` below its size. The figures must equal ``ioc kpi`` on
the same log, and the dead-letter topic must hold each rejection once, whichever path
(catch-up or Faust) applied its message.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from tests.integration.pipeline import (
    Pipeline,
    dead_letters,
    rejections,
    samples,
    split_log,
)

pytestmark = pytest.mark.integration

#: The worker's line when its catch-up ended.
CAUGHT = re.compile(r"ioc worker: caught up: read ([\d,]+) messages of (\d+) partitions")


def _equals_kpi_once(pipeline: Pipeline, log: Path, n: int) -> None:
    """The series equal ``ioc kpi`` on the log, each of its ``n`` messages counted once,
    and the dead-letter topic holds one message per rejection ``ioc kpi`` counts."""
    expected = pipeline.expected(log)
    assert samples(pipeline.scrape_event_clock()) == expected
    assert pipeline.counted() == n
    dlq = dead_letters(pipeline.kafka_bootstrap, f"{pipeline.topic}.dlq")
    assert len(dlq) == rejections(expected) > 0


def test_a_worker_far_behind_catches_up_then_consumes(pipeline: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=300, seed=41)
    head, tail = split_log(log, 2 * n // 3)
    pipeline.run("replay", str(head), "--max", "--partitions", "3")
    pipeline.extra_env["IOC_WORKER_CATCH_UP"] = "100"
    pipeline.start("worker", log="worker.log")
    out = pipeline.wait_log("worker.log", "ioc worker: caught up")
    assert f"ioc worker: {2 * n // 3:,} messages behind: catching up" in out
    found = CAUGHT.search(out)
    assert found and found.groups() == (f"{2 * n // 3:,}", "3")
    assert pipeline.counted() == 2 * n // 3
    assert pipeline.lease() is None  # released
    pipeline.run("replay", str(tail), "--max")  # now the consumer group's
    pipeline.wait_counted(n)
    _equals_kpi_once(pipeline, log, n)


def test_a_worker_less_behind_than_the_setting_joins_its_group_at_once(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=100, seed=42)
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    pipeline.extra_env["IOC_WORKER_CATCH_UP"] = str(n + 1)
    pipeline.start("worker", log="worker.log")
    pipeline.wait_counted(n)
    assert "catching up" not in (pipeline.workdir / "worker.log").read_text()
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)


def test_a_worker_waits_for_the_lease_of_another(pipeline: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=200, seed=43)
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    # Another worker catching up holds the lease; then it is done (or its lease expired).
    with pipeline.lease_held("other"):
        pipeline.extra_env["IOC_WORKER_CATCH_UP"] = "100"
        pipeline.start("worker", log="worker.log")
        pipeline.wait_log(
            "worker.log", f"{n:,} messages behind; another worker or ioc backfill is catching up"
        )
        time.sleep(1.5)
        assert pipeline.counted() == 0  # it waits
    out = pipeline.wait_log("worker.log", "that catch-up ended after")
    pipeline.wait_counted(n)  # by the consumer group, without a catch-up of its own
    assert "catching up with" not in out
    _equals_kpi_once(pipeline, log, n)


def test_two_workers_started_together_catch_up_once(pipeline: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=600, seed=44)
    pipeline.run("replay", str(log), "--max", "--partitions", "4")
    pipeline.extra_env["IOC_WORKER_CATCH_UP"] = "100"
    pipeline.start("worker", log="worker-a.log")
    pipeline.start("worker", log="worker-b.log")
    pipeline.wait_counted(n)
    # The other one waited for its lease, or found nothing left to catch up.
    names = ("worker-a.log", "worker-b.log")
    deadline = time.monotonic() + 60
    while not any("caught up" in (pipeline.workdir / name).read_text() for name in names):
        assert time.monotonic() < deadline, "neither worker says it caught up"
        time.sleep(0.2)
    logs = [(pipeline.workdir / name).read_text() for name in names]
    caught = [found for out in logs if (found := CAUGHT.search(out))]
    assert len(caught) == 1 and caught[0].groups() == (f"{n:,}", "4")
    assert sum("catching up with" in out for out in logs) == 1
    _equals_kpi_once(pipeline, log, n)


def test_sigterm_during_the_catch_up_stops_the_worker_cleanly(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=1500, seed=45)
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    pipeline.extra_env["IOC_WORKER_CATCH_UP"] = "100"
    worker = pipeline.start("worker", "--batch", "20", log="worker.log")  # small batches: slow
    pipeline.wait_log("worker.log", "catching up with")
    pipeline.wait_counted(1, timeout=120, poll=0.05)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    out = (pipeline.workdir / "worker.log").read_text()
    assert "caught up" not in out and "consumer group" not in out
    assert 0 < pipeline.counted() < n
    assert pipeline.lease() is None  # released on the way out
    # A new worker catches up the rest.
    pipeline.start("worker", log="worker-2.log")
    pipeline.wait_counted(n)
    expected = pipeline.expected(log)
    assert samples(pipeline.scrape_event_clock()) == expected
    assert pipeline.counted() == n
    # A batch stopped between its dead letters and its commit sends them again.
    assert len(dead_letters(pipeline.kafka_bootstrap, f"{pipeline.topic}.dlq")) >= rejections(
        expected
    )


def test_a_worker_started_during_ioc_backfill_waits_for_it(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=2000, seed=46)
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    # Small batches: it takes long enough (about 10 s here) for the worker to start.
    backfill = pipeline.start("backfill", "--no-progress", "--batch", "10", log="backfill.log")
    pipeline.wait_counted(1, timeout=120, poll=0.05)  # the backfill holds the lease and is applying
    assert pipeline.lease() is not None
    pipeline.extra_env["IOC_WORKER_CATCH_UP"] = "100"
    pipeline.start("worker", log="worker.log")
    pipeline.wait_log("worker.log", "another worker or ioc backfill is catching up: waiting")
    assert backfill.wait(timeout=180) == 0
    out = pipeline.wait_log("worker.log", "that catch-up ended after")
    assert "catching up with" not in out  # the worker read none of the backlog itself
    backfilled = (pipeline.workdir / "backfill.log").read_text()
    assert f"read {n:,} messages of 2 partitions" in backfilled
    assert pipeline.lease() is None
    pipeline.wait_counted(n)
    _equals_kpi_once(pipeline, log, n)
