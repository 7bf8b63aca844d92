"""``ioc demo``: the live monitor on the local stack, in one command.

Stack up (Kafka, Redis, Prometheus with the repo's rules, Alertmanager), then the
worker, the exporter (wall clock) and the simulator feeding live events for the
bundled Quảng Ninh registry at an accelerated rate, and a live terminal board.
Ctrl-C stops everything the demo started (the stack stays up: ``ioc stack down``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``demo`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="run the live monitor on the local stack with simulated events"
    )
    p.add_argument(
        "--speedup",
        type=float,
        default=3600.0,
        help="simulated seconds per wall second (default 3600: an office day in ~10 s, "
        "and even a weekend gap passes within about a minute)",
    )
    p.add_argument("--rate", type=float, default=300.0, help="events/s fed to Kafka (300)")
    p.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    p.add_argument("--window", default="24h", help="window of the board's ratio columns")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start everything, show the board, stop what was started on exit."""
    from ioc_monitor.config import ExporterSettings, StackSettings, load
    from ioc_monitor.registry import load_registry
    from services.board import run_board
    from services.stack import ensure_up

    stack = load(StackSettings)
    exporter = load(ExporterSettings)
    for status in ensure_up(stack):
        print(f"  {status.name:<13} up  {status.address}")
    logs = Path(stack.dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    ioc = [sys.executable, "-m", "ioc_monitor.cli"]
    commands = {
        "worker": [*ioc, "worker"],
        "exporter": [*ioc, "exporter", "--clock", "wall", "--port", str(exporter.port)],
        "simulator": [
            *ioc,
            "simulate",
            "--to-kafka",
            "--live",
            "--speedup",
            str(args.speedup),
            "--rate",
            str(args.rate),
        ],
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, cmd in commands.items():
            out = (logs / f"demo-{name}.log").open("ab")
            procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=out))
        metrics = f"http://127.0.0.1:{exporter.port}/metrics"
        print(f"  exporter      {metrics}")
        print(f"  prometheus    http://127.0.0.1:{stack.prometheus_port}/graph")
        print(f"  alertmanager  http://127.0.0.1:{stack.alertmanager_port}/")
        print(f"  logs          {logs}/demo-*.log   (Ctrl-C stops the demo)")
        time.sleep(1.0)
        run_board(metrics, load_registry(), window=args.window, duration=args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0
