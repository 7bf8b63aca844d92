"""``ioc exporter``: serve the KPIs kept in Redis to Prometheus.

Prometheus exporter: reads Redis at scrape time.
"""

from __future__ import annotations

import argparse
import logging

from services.cli.args import add_units_argument, load_units

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc exporter``."""
    p.set_defaults(func=run)
    p.add_argument("--clock", choices=("wall", "event"), default=None, help="default: wall")
    p.add_argument("--port", type=int, default=None, help="default 9464 (IOC_EXPORTER_PORT)")
    p.add_argument("--addr", default=None, help="bind address (IOC_EXPORTER_ADDR)")
    add_units_argument(p)


def run(args: argparse.Namespace) -> int:
    """Start the exporter; returns when stopped."""
    from ioc_monitor.config import ExporterSettings, RedisSettings, load
    from services.exporter import serve

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    base = load(ExporterSettings)
    overrides = {
        k: v
        for k, v in (("clock", args.clock), ("port", args.port), ("addr", args.addr))
        if v is not None
    }
    settings = base.model_copy(update=overrides)
    units = load_units(args.units)
    serve(settings, load(RedisSettings), units)
    return 0
