"""The Faust floor of ``make bench``: the real worker with its Redis step replaced by a counter.

Run as ``python -m services.bench.faust_floor`` with the worker's ``IOC_*`` settings plus
``IOC_BENCH_FLOOR_N`` (messages to wait for) and ``IOC_BENCH_FLOOR_DONE`` (a file written
once that many messages reached the agent). Everything else is ``ioc worker``: the same
Faust app, settings, agent and batch size; only :meth:`BatchProcessor.process` does
nothing but count, in the worker's own process (no helper process), and the worker does
not catch up first (``IOC_WORKER_CATCH_UP=0``: every message goes through Faust). Its
rate is the most any processing behind this Faust agent can reach on the machine.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from streams.processor import BatchProcessor, Record

__all__ = ["main"]


def main() -> int:
    """Run the counting worker until it is stopped (SIGTERM)."""
    target = int(os.environ["IOC_BENCH_FLOOR_N"])
    done = Path(os.environ["IOC_BENCH_FLOOR_DONE"])
    seen = [0]

    async def count_only(self: BatchProcessor, records: Sequence[Record]) -> tuple[int, int]:
        seen[0] += len(records)
        if seen[0] >= target and not done.exists():
            done.write_text(str(seen[0]), encoding="utf-8")
        return len(records), 0

    BatchProcessor.process = count_only  # type: ignore[method-assign]
    os.environ["IOC_WORKER_HELPER"] = "0"  # the counter replaces the processor in this process
    os.environ["IOC_WORKER_CATCH_UP"] = "0"  # Faust's path from the first message
    from services.cli.worker import run

    return run(argparse.Namespace(units=None, batch=None, loglevel="warning"))


if __name__ == "__main__":
    raise SystemExit(main())
