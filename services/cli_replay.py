"""``ioc replay``: send JSONL event logs into Kafka, in file order."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ioc_monitor.config import KafkaSettings, load
from services.publisher import ensure_topic
from services.replay import replay

__all__ = ["positive_float", "positive_int", "register", "run"]


def positive_float(text: str) -> float:
    """Parse a number > 0 (argparse type).

    Args:
        text: The argument.

    Returns:
        The number.

    Raises:
        argparse.ArgumentTypeError: It is not a number > 0.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
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
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def register(sub: Any) -> None:
    """Add the ``replay`` sub-command to an argparse sub-parser collection."""
    p: argparse.ArgumentParser = sub.add_parser(
        "replay",
        help="send JSONL event logs into Kafka",
        description=(
            "Send every line of the logs (plain or .gz), in file order and byte for byte, "
            "keyed by dossier_id (malformed lines without a key). Kafka settings come "
            "from IOC_KAFKA_*. Exits 1 if any send fails."
        ),
    )
    p.add_argument("logs", nargs="+", type=Path, metavar="LOG")
    speed = p.add_mutually_exclusive_group()
    speed.add_argument(
        "--rate", type=positive_float, default=None, metavar="N", help="at most N events/s"
    )
    speed.add_argument("--max", action="store_true", help="as fast as possible (the default)")
    p.add_argument("--topic", default=None, help="topic (default: IOC_KAFKA_TOPIC)")
    p.add_argument(
        "--partitions",
        type=positive_int,
        default=None,
        metavar="P",
        help="create the topic with P partitions first, unless it exists",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``ioc replay``; 0 when every message was confirmed, else 1."""
    settings = load(KafkaSettings)
    topic = args.topic or settings.topic
    if args.partitions is not None:
        ensure_topic(settings, topic, args.partitions)
    summary = replay(
        args.logs, settings, rate=args.rate, topic=topic, progress=not args.no_progress
    )
    print(f"ioc replay: {topic}: {summary.line()}", file=sys.stderr)
    return 0 if summary.failed == 0 else 1
