"""``ioc recover``: rebuild the Redis state from the start of the topic.

Stop every `ioc worker` first. Rewinds the worker's consumer group (IOC_KAFKA_GROUP) to
the earliest offsets of IOC_KAFKA_TOPIC and deletes every Redis key with the prefix
IOC_REDIS_PREFIX (SCAN; other keys are untouched). The next `ioc worker` rebuilds the
figures from the start of the topic.
"""

from __future__ import annotations

import argparse
import sys

from ioc_monitor.config import KafkaSettings, RedisSettings, load
from services.recover import recover

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc recover``."""
    p.set_defaults(func=run)
    p.add_argument("--yes", action="store_true", help="do it without asking")


def run(args: argparse.Namespace) -> int:
    """Execute ``ioc recover``: 0 when done, 1 on error or when not confirmed."""
    kafka = load(KafkaSettings)
    redis_settings = load(RedisSettings)
    if not args.yes:
        question = (
            f"Delete every Redis key with prefix {redis_settings.prefix!r} and rewind group "
            f"{kafka.group!r} to the start of {kafka.topic!r}? Type 'yes': "
        )
        if not sys.stdin.isatty():
            print("ioc recover: not confirmed; pass --yes", file=sys.stderr)
            return 1
        if input(question).strip().lower() != "yes":
            print("ioc recover: cancelled", file=sys.stderr)
            return 1
    summary = recover(kafka, redis_settings)
    print(f"ioc recover: {summary.line()}", file=sys.stderr)
    return 0
