"""The ``ioc`` command line: one explicit table of sub-commands.

Every command module is imported when the parser is built, so a misspelt or broken
module fails loudly here, never silently drops its command. Each module has
``register(subparsers)``, which adds its parser and sets ``func``; ``func(args)``
returns the exit code. The heavy imports (Faust, Kafka clients) stay inside each
command's ``run``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from ioc_monitor.errors import IocError
from services.cli import (
    demo,
    exporter,
    kpi,
    recover,
    replay,
    rules,
    simulate,
    stack,
    worker,
)

__all__ = ["COMMANDS", "build_parser", "main"]

#: The command modules, in the order ``ioc --help`` lists them.
COMMANDS: tuple[ModuleType, ...] = (
    kpi,
    stack,
    worker,
    exporter,
    demo,
    rules,
    simulate,
    replay,
    recover,
)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every sub-command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="ioc", description="ioc-monitor: the IOC operations monitor, one sub-command per job."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
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
