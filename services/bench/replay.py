"""Section 2 of ``make bench``: the rate of ``ioc replay --max``, beside a batch producer.

Each run replays the throughput log into a fresh topic and reads the rate from the
summary ``ioc replay`` prints; then aiokafka's batch API sends the same lines, keyed the
same way, to another fresh topic (the reference).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Final

from ioc_monitor.config import KafkaSettings, load
from services.bench.config import BenchConfig
from services.bench.consumers import run_batch_producer
from services.bench.env import say
from services.bench.inputs import delete_topics, read_lines, run_stamp
from services.bench.report import Figure, Goal
from services.harness import IOC
from services.publisher import ensure_topic

__all__ = ["run_replay"]

_RATE: Final = re.compile(r"sent (\d+), failed (\d+) in ([0-9.]+) s")


def run_replay(cfg: BenchConfig, log: Path, n: int) -> list[Figure]:
    """Make ``cfg.runs`` replay runs of a log of ``n`` messages.

    Returns:
        The figures: ``ioc replay`` rate, batch producer rate, their ratio.

    Raises:
        RuntimeError: ``ioc replay`` did not send every message.
    """
    fig = Figure("`ioc replay --max` (1 process)", "events/s", goal=Goal(">=", 50_000))
    batch = Figure("aiokafka batch producer, same log (reference)", "events/s")
    ratio = Figure("`ioc replay` / batch producer", "%")
    stamp = run_stamp()
    lines = read_lines(log)
    kafka = load(KafkaSettings)
    for i in range(cfg.runs):
        topic = f"ioc-bench-replay-{stamp}-{i}"
        say(f"replay run {i + 1}/{cfg.runs} into {topic}")
        out = subprocess.run(
            [*IOC, "replay", str(log), "--max", "--topic", topic,
             "--partitions", str(cfg.partitions), "--no-progress"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        m = _RATE.search(out.stderr)
        if m is None or int(m.group(1)) != n or int(m.group(2)) != 0:
            raise RuntimeError(f"bench: unexpected replay summary: {out.stderr.strip()}")
        fig.values.append(n / float(m.group(3)))
        delete_topics([topic])
        ensure_topic(kafka, f"{topic}-b", cfg.partitions)
        ref = run_batch_producer(lines, f"{topic}-b")
        delete_topics([f"{topic}-b"])
        batch.values.append(ref.rate)
        ratio.values.append(100 * fig.values[-1] / ref.rate)
    return [fig, batch, ratio]
