"""``ioc worker``: run the streaming worker (Faust) until stopped."""

from __future__ import annotations

import argparse
from typing import Any

from services.cli.args import add_units_argument, load_units, positive_int

__all__ = ["EXIT_AGENT_FAILED", "exit_on_failure", "register", "run"]


def register(sub: Any) -> None:
    """Add the ``worker`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "worker",
        help="consume dossier events and keep the KPIs in Redis",
        description="Faust worker: Kafka → KPI rules → Redis, exactly-once effect.",
    )
    add_units_argument(p)
    p.add_argument("--batch", type=positive_int, default=None, help="largest batch (default 4000)")
    p.add_argument("--loglevel", default="warning", help="Faust log level (default warning)")
    p.set_defaults(func=run)


def _use_uvloop() -> bool:
    """Run the worker's event loops on uvloop when it is installed (faster I/O and tasks).

    Returns:
        Whether uvloop is in use.
    """
    try:
        import uvloop
    except ImportError:
        return False
    import asyncio

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


#: Exit status of a worker whose agent failed (EX_SOFTWARE).
EXIT_AGENT_FAILED = 70


def exit_on_failure(exc: BaseException) -> None:
    """Log the agent's failure and end the process at once, with status 70.

    A Faust worker whose agent died stays up doing nothing; a supervisor
    (docker-compose ``restart:``, systemd) only restarts a process that exits. Nothing
    is lost by exiting: each partition resumes after the offset stored in Redis.
    """
    import logging
    import os

    logging.getLogger("ioc.worker").critical(
        "the KPI agent failed (%s: %s); exiting with status %d so that the worker is "
        "restarted; it resumes from the offsets stored in Redis",
        type(exc).__name__,
        exc,
        EXIT_AGENT_FAILED,
        exc_info=exc,
    )
    logging.shutdown()
    os._exit(EXIT_AGENT_FAILED)


def run(args: argparse.Namespace) -> int:
    """Start the worker; returns when it stops (SIGTERM / Ctrl-C)."""
    import faust

    from ioc_monitor.config import KafkaSettings, RedisSettings, load
    from streams.app import BATCH_MAX, build_app

    _use_uvloop()
    kafka = load(KafkaSettings)
    redis_settings = load(RedisSettings)
    units = load_units(args.units)
    app, _ = build_app(
        kafka,
        redis_settings,
        units,
        batch_max=args.batch or BATCH_MAX,
        on_failure=exit_on_failure,
    )
    worker = faust.Worker(app, loglevel=args.loglevel)
    worker.execute_from_commandline()
    return 0
