"""The ``ioc`` command line: one sub-command per job, each imported only when used."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from ioc_monitor.errors import IocError

__all__ = ["main"]

#: Modules that add sub-commands: each has ``register(subparsers)`` which sets
#: ``func`` on its parser; ``func(args)`` returns the exit code.
_COMMAND_MODULES = (
    "ioc_monitor.cli_kpi",
    "services.cli_stack",
    "streams.cli_worker",
    "services.cli_exporter",
    "services.demo",
    "services.cli_rules",
    "services.cli_simulate",
    "services.cli_replay",
    "services.recover",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every available sub-command."""
    parser = argparse.ArgumentParser(prog="ioc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
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
