"""``ioc demo``: the live monitor on the local stack with simulated events.

Stack up (Kafka, Redis, Prometheus, Alertmanager), then the worker, the exporter (wall
clock), the web wall (its URL printed first, http://127.0.0.1:9480/, opens on the
province overview), the simulator feeding live events at an accelerated rate and a live
board; Ctrl-C stops what the demo started (the stack stays up: `ioc stack down`).
"""

from __future__ import annotations

import argparse

from services.cli.args import (
    add_units_argument,
    load_units,
    positive_float,
    units_file,
)

__all__ = ["DEMO_SLIP", "configure", "run"]

#: Units of the bundled registry that slip during the demo (two supervisors are paged).
DEMO_SLIP = ("qn-c-hong-gai", "qn-c-mong-cai-1")


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc demo``."""
    p.set_defaults(func=run)
    p.add_argument(
        "--speedup",
        type=positive_float,
        default=3600.0,
        help="simulated seconds per wall second (default 3600: an office day in ~10 s, "
        "and even a weekend gap passes within about a minute)",
    )
    p.add_argument(
        "--rate",
        type=positive_float,
        default=2000.0,
        help="most events/s fed to Kafka (2000: at --speedup 3600 the province's office "
        "hours need about 1,400/s; a lower cap makes the feed fall behind and dossiers "
        "look overdue that are not)",
    )
    p.add_argument("--duration", type=positive_float, default=None, help="stop after N seconds")
    p.add_argument("--window", default="24h", help="window of the board's ratio columns")
    p.add_argument(
        "--slip",
        default=",".join(DEMO_SLIP),
        metavar="UNIT_ID[,UNIT_ID...]",
        help="units that slip during the demo, so that their supervisors (and only theirs) "
        f"are paged (default {','.join(DEMO_SLIP)}; units not in the registry are left out; "
        "'' for none)",
    )
    p.add_argument(
        "--slip-after",
        default="1d",
        help="simulated time after the start from which they slip (default 1d)",
    )
    add_units_argument(p)


def run(args: argparse.Namespace) -> int:
    """Execute ``ioc demo`` with the registry of ``--units`` / ``IOC_UNITS_FILE``."""
    from services.demo import run_demo

    units_path = units_file(args.units)
    registry = load_units(units_path)
    slip = tuple(u for u in args.slip.split(",") if u and u in registry)
    return run_demo(
        args.speedup,
        args.rate,
        args.duration,
        args.window,
        registry,
        units_path,
        slip=slip,
        slip_after=args.slip_after,
    )
