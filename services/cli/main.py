"""The ``ioc`` command line: one explicit table of sub-commands.

Every command module is imported when this module is, so a misspelt or broken module
fails loudly, never silently drops its command. Each row of :data:`COMMANDS` names a
command, its one-line help and its module; the module's docstring (its second
paragraph) is the command's description, and its ``configure(parser)`` adds the
arguments and sets ``func``: ``func(args)`` returns the exit code. The heavy imports
(Faust, Kafka clients) stay inside each command's ``run``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from ioc_monitor.errors import IocError
from services.cli import (
    backfill,
    dashboards,
    demo,
    exporter,
    kpi,
    recover,
    replay,
    rules,
    simulate,
    stack,
    wall,
    worker,
)
from services.cli.args import add_command

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@dataclass(frozen=True, slots=True)
class Command:
    """One sub-command of ``ioc``.

    Attributes:
        name: What the user types, e.g. ``kpi``.
        help: One line for ``ioc --help``.
        module: Its module in :mod:`services.cli`, with ``configure(parser)``.
    """

    name: str
    help: str
    module: ModuleType

    @property
    def description(self) -> str:
        """The command's own ``--help`` text: its module docstring's second paragraph."""
        paragraphs = (self.module.__doc__ or "").strip().split("\n\n")
        return paragraphs[1] if len(paragraphs) > 1 else self.help


#: Every sub-command, in the order ``ioc --help`` lists them.
COMMANDS: tuple[Command, ...] = (
    Command("kpi", "compute the KPIs of JSONL event logs offline", kpi),
    Command("stack", "control the local Kafka/Redis/Prometheus/Alertmanager stack", stack),
    Command("worker", "consume dossier events and keep the KPIs in Redis", worker),
    Command("exporter", "serve /metrics from Redis (prometheus-client)", exporter),
    Command("demo", "run the live monitor on the local stack with simulated events", demo),
    Command("rules", "generate and check the Prometheus rules and Alertmanager config", rules),
    Command("dashboards", "generate the Grafana dashboards or publish them", dashboards),
    Command("simulate", "generate simulated dossier-status events", simulate),
    Command("replay", "send JSONL event logs into Kafka", replay),
    Command("backfill", "apply the event topic up to its end to Redis, then exit", backfill),
    Command("recover", "after Redis lost the state: rebuild it from the topic", recover),
    Command("wall", "serve the read-only web wall (Vietnamese; kiosk mode for screens)", wall),
)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every sub-command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="ioc", description="ioc-monitor: the IOC operations monitor, one sub-command per job."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.module.configure(
            add_command(sub, command.name, None, help=command.help, description=command.description)
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ioc``; errors of the project print one line and exit 1 (2 for usage)."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except IocError as exc:
        print(f"ioc {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
