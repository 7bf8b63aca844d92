"""``ioc kpi``: compute every metric offline from JSONL logs.

One pass over JSONL logs (plain or .gz): every metric of METRICS.md (all but consumer
lag and the wall-time gauge, which only a live pipeline has), as the exporter would
serve them. ``--format table`` also prints the Decision 766 scorecard view: the units of
each level ranked by total / sum of the weights of their exposed components.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson
from rich.console import Console

from ioc_monitor.catalogue import SCORECARD_WINDOWS
from ioc_monitor.offline import compute, exposition
from ioc_monitor.report import board, to_json
from services.cli.args import add_units_argument, load_units

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc kpi``."""
    p.set_defaults(func=run)
    p.add_argument("logs", nargs="+", type=Path, metavar="LOG")
    add_units_argument(p)
    p.add_argument("--clock", choices=("event", "wall"), default="event")
    p.add_argument("--format", choices=("prometheus", "json", "table"), default="table")
    p.add_argument("--window", default="30d", help="window of the table's ratio columns")
    p.add_argument(
        "--scorecard-window",
        choices=SCORECARD_WINDOWS,
        default="month",
        help="window of the table's Decision 766 scorecard (default month)",
    )


def run(args: argparse.Namespace) -> int:
    """Execute ``ioc kpi``."""
    units = load_units(args.units)
    snap = compute(args.logs, units, clock=args.clock)
    if args.format == "prometheus":
        sys.stdout.buffer.write(exposition(snap, units))
    elif args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(to_json(snap, units), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
    else:
        board(snap, units, Console(), window=args.window, scorecard_window=args.scorecard_window)
    return 0
