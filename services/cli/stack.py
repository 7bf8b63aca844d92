"""``ioc stack up|down|status``: control the local service stack from the command line.

Local service stack on 127.0.0.1; files under IOC_STACK_DIR (.stack).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ioc_monitor.config import StackSettings, load
from ioc_monitor.errors import ConfigError, StackError
from services.cli.args import add_command, add_group
from services.stack.control import ServiceStatus, down, status, up

__all__ = ["configure", "format_table"]


def format_table(statuses: Sequence[ServiceStatus]) -> str:
    """Render statuses as an aligned text table (service, state, address, pid).

    Args:
        statuses: One status per service.

    Returns:
        The table, header included, without a trailing newline.
    """
    rows = [("SERVICE", "STATE", "ADDRESS", "PID")]
    rows += [(s.name, s.state, s.address, str(s.pid) if s.pid else "-") for s in statuses]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _command(
    action: Callable[[StackSettings], list[ServiceStatus]],
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        stdout = out or sys.stdout
        stderr = err or sys.stderr
        try:
            statuses = action(load(StackSettings))
        except (StackError, ConfigError) as exc:
            print(f"ioc stack {args.stack_command}: error: {exc}", file=stderr)
            return 1
        print(format_table(statuses), file=stdout)
        return 0

    return handler


def configure(p: argparse.ArgumentParser) -> None:
    """Add ``up``, ``down`` and ``status`` to ``ioc stack``.

    Each sets ``func``: a callable taking the parsed namespace and returning the exit
    code (0 ok; 1 after printing a one-line error for a stack or settings error).
    """
    commands = add_group(p, "stack_command", ("up", "down", "status"))
    for name, action, text in (
        ("up", up, "start the services that are not running and wait until they answer"),
        ("down", down, "stop the services this stack started"),
        ("status", status, "show each service's state, address and pid"),
    ):
        add_command(commands, name, _command(action), help=text)
