"""``ioc replay``: send JSONL event logs into Kafka, in file order.

Send every line of the logs (plain or .gz), in file order and byte for byte, keyed by
dossier_id (malformed lines without a key). Kafka settings come from IOC_KAFKA_*. Exits
1 if any send fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ioc_monitor.config import KafkaSettings, load
from services.cli.args import positive_float, positive_int
from services.publisher import ensure_topic
from services.replay import replay

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc replay``."""
    p.set_defaults(func=run)
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
