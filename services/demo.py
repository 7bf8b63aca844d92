"""``ioc demo``: the live monitor on the local stack, in one command.

Stack up (Kafka, Redis, Prometheus with the repo's rules, Alertmanager), then the
worker, the exporter (wall clock), the web wall (``ioc wall``, its URL printed first: it
opens on the province overview) and the simulator feeding live events for the bundled
Quảng Ninh registry at an accelerated rate, and a live terminal board. Ctrl-C stops
everything the demo started (the stack stays up: ``ioc stack down``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from ioc_monitor.registry import UnitRegistry
from services.harness import IOC, spawn, stop_all

__all__ = ["run_demo"]


def run_demo(
    speedup: float,
    rate: float,
    duration: float | None,
    window: str,
    units: UnitRegistry,
    units_path: Path | None = None,
    slip: tuple[str, ...] = (),
    slip_after: str = "0",
) -> int:
    """Start everything, show the board, stop what was started on exit.

    Args:
        speedup: Simulated seconds per wall second.
        rate: Events per second fed to Kafka.
        duration: Stop after this many seconds (``None``: until Ctrl-C).
        window: Window of the board's ratio columns, e.g. ``24h``.
        units: The unit registry the board shows.
        units_path: Its file, passed to the worker, exporter and simulator as
            ``IOC_UNITS_FILE`` so that every process shows the same units (``None``: the
            environment's ``IOC_UNITS_FILE`` or the bundled file, as ``units``).
        slip: Units of ``units`` that slip (``ioc simulate --slip``). Default none.
        slip_after: Simulated time from which they slip (``--slip-after``). Default 0.

    Returns:
        The exit code (0).
    """
    from ioc_monitor.config import ExporterSettings, StackSettings, load
    from services.board import run_board
    from services.stack.control import ensure_up
    from services.wall.settings import WallSettings

    stack = load(StackSettings)
    exporter = load(ExporterSettings)
    wall = load(WallSettings)
    statuses = ensure_up(stack)
    logs = Path(stack.dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if units_path is not None:
        env["IOC_UNITS_FILE"] = str(units_path.resolve())
    # The wall reads this stack's Prometheus and Alertmanager unless told otherwise.
    env.setdefault("IOC_WALL_PROMETHEUS_URL", f"http://127.0.0.1:{stack.prometheus_port}")
    env.setdefault("IOC_WALL_ALERTMANAGER_URL", f"http://127.0.0.1:{stack.alertmanager_port}")
    ioc = list(IOC)
    commands = {
        "worker": [*ioc, "worker"],
        "exporter": [*ioc, "exporter", "--clock", "wall", "--port", str(exporter.port)],
        "wall": [*ioc, "wall", "--port", str(wall.port)],
        "simulator": [
            *ioc,
            "simulate",
            "--to-kafka",
            "--live",
            "--speedup",
            str(speedup),
            "--rate",
            str(rate),
            *(["--slip", ",".join(slip), "--slip-after", slip_after] if slip else []),
        ],
    }
    procs: list[subprocess.Popen[bytes]] = []
    # SIGTERM (a supervisor, `timeout`) stops the demo like Ctrl-C: what it started stops too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        for name, cmd in commands.items():
            procs.append(spawn(cmd, logs / f"demo-{name}.log", env=env))
        metrics = f"http://127.0.0.1:{exporter.port}/metrics"
        print(f"  wall          http://{wall.host}:{wall.port}/   (?kiosk=1 for wall screens)")
        for status in statuses:
            print(f"  {status.name:<13} up  {status.address}")
        print(f"  exporter      {metrics}")
        print(f"  prometheus    http://127.0.0.1:{stack.prometheus_port}/graph")
        print(f"  alertmanager  http://127.0.0.1:{stack.alertmanager_port}/")
        print(f"  logs          {logs}/demo-*.log   (Ctrl-C stops the demo)")
        if slip:
            print(f"  slipping      {', '.join(slip)} from {slip_after} of simulated time")
        time.sleep(1.0)
        run_board(metrics, units, window=window, duration=duration)
    except KeyboardInterrupt:
        pass
    finally:
        stop_all(procs, timeout=20)
        signal.signal(signal.SIGTERM, previous)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the demo's clean-up runs."""
    raise KeyboardInterrupt
