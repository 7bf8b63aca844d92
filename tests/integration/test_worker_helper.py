"""The worker's helper process (``IOC_WORKER_HELPER``) on the real stack.

With the helper (the default on 2 or more CPUs) the other pipeline tests already run
through it; here: the same log gives the same series with and without it, and a helper
that dies ends its worker (status 70, the reason in its log), whose restart finishes
the log exactly.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from services.bench.env import proc_children
from streams.worker import EXIT_AGENT_FAILED
from tests.integration.pipeline import Pipeline, samples

pytestmark = pytest.mark.integration


def _helpers(pid: int) -> list[int]:
    """The worker's live helper processes (``python -m streams.helper`` children)."""
    return [
        child
        for child in proc_children(pid)
        if b"streams.helper" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def _helper_of(pid: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _helpers(pid)
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"worker {pid} started no helper process in {timeout} s")


@pytest.mark.parametrize("helper", ["0", "1"])
def test_with_and_without_the_helper_equals_offline(
    pipeline: Pipeline, tmp_path: Path, helper: str
) -> None:
    pipeline.extra_env["IOC_WORKER_HELPER"] = helper
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=300, seed=21)
    worker = pipeline.start("worker", log="worker.log")
    pipeline.run("replay", str(log), "--max", "--partitions", "2")
    pipeline.wait_counted(n)
    assert len(_helpers(worker.pid)) == (1 if helper == "1" else 0)
    got = samples(pipeline.scrape_event_clock())
    rejected = [x for x in got if x.startswith("ioc_events_rejected_total{")]
    assert any(not x.endswith(" 0.0") for x in rejected)  # dead letters went through it
    assert got == pipeline.expected(log)


def test_a_dead_helper_ends_its_worker_and_a_restart_finishes_exactly(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dead member leaves the group after 6 s instead of 60 s (only the duration).
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "6")
    monkeypatch.setenv("BROKER_HEARTBEAT_INTERVAL", "1")
    pipeline.extra_env["IOC_WORKER_HELPER"] = "1"
    log = tmp_path / "events.jsonl"
    n = pipeline.simulate(log, dossiers=1500, seed=22)
    worker = pipeline.start("worker", "--batch", "50", log="worker.log")
    replay = pipeline.start("replay", str(log), "--rate", "1500", "--partitions", "2",
                            log="replay.log")  # fmt: skip
    helper = _helper_of(worker.pid)
    pipeline.wait_counted(n // 4, timeout=120, poll=0.1)
    os.kill(helper, signal.SIGKILL)
    assert worker.wait(timeout=60) == EXIT_AGENT_FAILED
    text = (tmp_path / "worker.log").read_text(errors="replace")
    assert "the helper process exited with status -9" in text, text[-3000:]
    assert pipeline.counted() < n  # it died mid-stream
    restarted = pipeline.start("worker", "--batch", "50", log="worker2.log")
    _helper_of(restarted.pid)
    assert replay.wait(timeout=120) == 0
    pipeline.wait_counted(n)
    assert samples(pipeline.scrape_event_clock()) == pipeline.expected(log)
