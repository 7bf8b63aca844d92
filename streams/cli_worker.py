"""``ioc worker``: run the streaming worker (Faust) until stopped."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``worker`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "worker",
        help="consume dossier events and keep the KPIs in Redis",
        description="Faust worker: Kafka → KPI rules → Redis, exactly-once effect.",
    )
    p.add_argument("--units", type=Path, default=None, help="unit registry YAML (default: bundled)")
    p.add_argument("--batch", type=int, default=None, help="largest batch (default 2000)")
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


def run(args: argparse.Namespace) -> int:
    """Start the worker; returns when it stops (SIGTERM / Ctrl-C)."""
    import faust

    from ioc_monitor.config import KafkaSettings, RedisSettings, UnitsSettings, load
    from ioc_monitor.registry import load_registry
    from streams.app import BATCH_MAX, build_app

    _use_uvloop()
    kafka = load(KafkaSettings)
    redis_settings = load(RedisSettings)
    units = load_registry(args.units or load(UnitsSettings).file)
    app, _ = build_app(kafka, redis_settings, units, batch_max=args.batch or BATCH_MAX)
    worker = faust.Worker(app, loglevel=args.loglevel)
    worker.execute_from_commandline()
    return 0
