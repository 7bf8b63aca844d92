"""``ioc worker``: run the streaming worker (Faust) until stopped.

Faust worker: Kafka → KPI rules → Redis, exactly-once effect.

Argument wiring only: the process itself (version check, uvloop, exit on agent failure)
is :func:`streams.worker.run_worker`.
"""

from __future__ import annotations

import argparse

from services.cli.args import add_units_argument, load_units, positive_int

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc worker``."""
    p.set_defaults(func=run)
    add_units_argument(p)
    p.add_argument("--batch", type=positive_int, default=None, help="largest batch (default 10000)")
    p.add_argument("--loglevel", default="warning", help="Faust log level (default warning)")


def run(args: argparse.Namespace) -> int:
    """Start the worker; returns when it stops (SIGTERM / Ctrl-C).

    Raises:
        IocError: A setting, the unit registry or the installed faust-streaming is not
            usable (``ioc`` prints it as one line and exits 1).
    """
    from ioc_monitor.config import KafkaSettings, RedisSettings, WorkerSettings, load
    from streams.worker import run_worker

    return run_worker(
        load(KafkaSettings),
        load(RedisSettings),
        load_units(args.units),
        batch=args.batch,
        loglevel=args.loglevel,
        process=load(WorkerSettings),
    )
