"""Section 8 of ``make bench``: the offline ``ioc kpi`` on the throughput log.

Wall time of the process and its peak RSS (``ru_maxrss`` from ``wait4``); its
Prometheus output is also what the worker runs' exporters are compared with.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from services.bench.env import say
from services.bench.report import Figure, Goal
from services.bench.workers import samples
from services.harness import IOC

__all__ = ["Kpi", "run_kpi"]


@dataclass
class Kpi:
    """Figures of ``ioc kpi`` and its samples.

    Attributes:
        wall: Wall time (s).
        rss: Peak RSS (MiB).
        expected: :func:`~services.bench.workers.samples` of its output.
    """

    wall: Figure
    rss: Figure
    expected: list[str]


def run_kpi(log: Path, runs: int, label: str) -> Kpi:
    """Run ``ioc kpi LOG --format prometheus --clock event`` ``runs`` times.

    Args:
        log: The throughput log (its output goes next to it, ``.kpi.prom``).
        runs: Runs.
        label: The log's size for the figures' labels, e.g. ``61,089 events``.

    Raises:
        RuntimeError: ``ioc kpi`` failed.
    """
    wall = Figure(f"`ioc kpi` on {label}: wall time", "s", goal=Goal("<=", 60.0))
    rss = Figure(f"`ioc kpi` on {label}: peak RSS", "MiB")
    expected: list[str] = []
    for i in range(runs):
        say(f"ioc kpi run {i + 1}/{runs}")
        out_path = log.with_suffix(".kpi.prom")
        with out_path.open("wb") as out:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [*IOC, "kpi", str(log), "--format", "prometheus", "--clock", "event"], stdout=out
            )
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError("bench: ioc kpi failed")
        wall.values.append(seconds)
        rss.values.append(usage.ru_maxrss / 1024)
        expected = samples(out_path.read_text(encoding="utf-8"))
    return Kpi(wall, rss, expected)
