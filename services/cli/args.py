"""Argument helpers shared by every ``ioc`` sub-command: number types and the unit registry.

``--units`` means the same everywhere: the registry file given, else ``IOC_UNITS_FILE``,
else the bundled Quảng Ninh registry. Every command that reads a registry loads it
through :func:`load_units`, so the worker, the exporter, ``ioc kpi``, the simulator,
the rules and the demo board always show the same units.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from ioc_monitor.config import UnitsSettings, load
from ioc_monitor.registry import UnitRegistry, load_registry

__all__ = [
    "Subcommands",
    "add_command",
    "add_group",
    "add_units_argument",
    "count_or_auto",
    "load_units",
    "non_negative_float",
    "out_dir_argument",
    "positive_float",
    "positive_int",
    "share",
    "units_file",
]

#: The ``add_subparsers()`` object of a parser, that :func:`add_command` adds commands to.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
#: A command's handler: the parsed arguments in, the exit code out.
Handler: TypeAlias = Callable[[argparse.Namespace], int]

UNITS_HELP = "unit registry YAML (default: IOC_UNITS_FILE, else the bundled Quảng Ninh file)"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def positive_float(text: str) -> float:
    """Parse a number > 0 (argparse type).

    Args:
        text: The argument.

    Returns:
        The number.

    Raises:
        argparse.ArgumentTypeError: It is not a number > 0.
    """
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """Parse a number >= 0 (argparse type), e.g. a rate where 0 means "as fast as possible".

    Raises:
        argparse.ArgumentTypeError: It is not a number >= 0.
    """
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def share(text: str) -> float:
    """Parse a share between 0 and 1 inclusive (argparse type).

    Raises:
        argparse.ArgumentTypeError: It is not a number in [0, 1].
    """
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text}")
    return value


def positive_int(text: str) -> int:
    """Parse an integer >= 1 (argparse type).

    Args:
        text: The argument.

    Returns:
        The integer.

    Raises:
        argparse.ArgumentTypeError: It is not an integer >= 1.
    """
    return _int_at_least(text, 1)


def count_or_auto(auto: Callable[[], int]) -> Callable[[str], int]:
    """An argparse type: an integer >= 0, or ``auto`` for what ``auto()`` returns.

    Args:
        auto: The value of ``auto``, computed when the argument is parsed.

    Returns:
        The type (raises ``argparse.ArgumentTypeError`` for anything else).
    """

    def parse(text: str) -> int:
        return auto() if text == "auto" else _int_at_least(text, 0)

    return parse


def add_units_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--units FILE`` (default ``None``: ``IOC_UNITS_FILE``, else the bundled file)."""
    parser.add_argument("--units", type=Path, default=None, metavar="FILE", help=UNITS_HELP)


def units_file(path: Path | None) -> Path | None:
    """The registry file a command uses: ``path``, else ``IOC_UNITS_FILE``, else ``None``.

    Args:
        path: The ``--units`` value.

    Returns:
        The file, or ``None`` for the bundled registry.

    Raises:
        ConfigError: ``IOC_UNITS_FILE`` is invalid.
    """
    return path if path is not None else load(UnitsSettings).file


def load_units(path: Path | None) -> UnitRegistry:
    """Load the registry of :func:`units_file` (raises ``RegistryError`` naming the line)."""
    return load_registry(units_file(path))


def add_command(
    sub: Subcommands, name: str, run: Handler | None, *, help: str, description: str | None = None
) -> argparse.ArgumentParser:
    """Add one sub-command whose ``func`` is ``run``.

    Args:
        sub: The ``add_subparsers()`` object of the parent parser.
        name: The command's name, e.g. ``kpi``.
        run: Its handler; ``None`` for a command that only groups sub-commands.
        help: One line for the parent's ``--help``.
        description: The command's own ``--help`` text. Default: ``help``.

    Returns:
        The command's parser, for its arguments.
    """
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description or help
    )
    if run is not None:
        parser.set_defaults(func=run)
    return parser


def add_group(parser: argparse.ArgumentParser, dest: str, choices: tuple[str, ...]) -> Subcommands:
    """Give a command required sub-commands (``ioc rules generate|check``).

    Args:
        parser: The command's parser.
        dest: Attribute of the namespace that names the chosen sub-command.
        choices: The sub-commands' names, for the usage line.

    Returns:
        The ``add_subparsers()`` object to add them to with :func:`add_command`.
    """
    group = parser.add_subparsers(dest=dest, metavar="{" + ",".join(choices) + "}")
    group.required = True
    return group


def out_dir_argument(
    parser: argparse.ArgumentParser, default: str, flag: str = "--out-dir"
) -> None:
    """Add a directory option (``--out-dir`` by default) with its default in the help."""
    parser.add_argument(flag, type=Path, default=Path(default), help=f"default: {default}")
