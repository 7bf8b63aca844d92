"""``ioc backfill``: apply the event topic up to its current end to Redis, then exit.

Reads every partition of IOC_KAFKA_TOPIC from after the offset Redis holds for it (the
start of the topic on an empty store) up to its end when the command starts, and
applies it exactly as `ioc worker` does (same rules, offsets in Redis, dead letters to
IOC_KAFKA_DLQ_TOPIC), without Faust and without a consumer group; then `ioc worker`
carries on from there. Safe to stop and run again, and beside a running worker; one
backfill or worker catch-up at a time per key prefix (it waits for the other).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from services.cli.args import add_units_argument, count_or_auto, load_units, positive_int

__all__ = ["auto_helpers", "configure", "run"]

#: Seconds between progress lines.
_PROGRESS_S = 5.0


def auto_helpers() -> int:
    """``--helpers auto``: :func:`streams.backfill.default_shards` of this machine."""
    from streams.backfill import default_shards

    return default_shards(os.cpu_count())


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc backfill``."""
    p.set_defaults(func=run)
    add_units_argument(p)
    p.add_argument(
        "--helpers",
        type=count_or_auto(auto_helpers),
        default="auto",
        metavar="N",
        help="helper processes the partitions are split over; 0: all in this process "
        "(default auto: one per CPU, none on 1 CPU)",
    )
    p.add_argument("--batch", type=positive_int, default=None, help="largest batch (default 10000)")
    p.add_argument("--no-progress", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    """Execute ``ioc backfill``: 0 when the topic was applied up to its end.

    Waits while a worker's catch-up holds the lease (:mod:`streams.lease`); SIGTERM or
    SIGINT stops it cleanly with 128 + the signal's number (143, 130).

    Raises:
        IocError: A setting or the unit registry is not usable, the topic does not
            exist, or a batch cannot be decoded (``ioc`` prints it as one line, exit 1).
    """
    from ioc_monitor.config import KafkaSettings, RedisSettings, load
    from streams.backfill import BackfillJob, BackfillResult, run_backfill
    from streams.lease import Stopped
    from streams.processor import BATCH_MAX

    kafka, redis = load(KafkaSettings), load(RedisSettings)
    units = load_units(args.units)
    last = [time.monotonic()]

    def progress(done: BackfillResult) -> None:
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_S:
            last[0] = now
            print(f"ioc backfill: {done.progress_line()}", file=sys.stderr, flush=True)

    job = BackfillJob(
        kafka,
        redis,
        units.ids,
        shards=args.helpers,
        batch_max=args.batch or BATCH_MAX,
        progress=None if args.no_progress else progress,
    )
    result = run_backfill(job, lambda line: print(f"ioc backfill: {line}", file=sys.stderr))
    if isinstance(result, Stopped):
        print(
            f"ioc backfill: stopped by {result.name}; what was applied stays applied, "
            "run it again to carry on",
            file=sys.stderr,
        )
        return 128 + result.signum
    print(f"ioc backfill: {kafka.topic}: {result.line()}", file=sys.stderr)
    return 0
