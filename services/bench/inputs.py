"""The inputs ``make bench`` measures on: simulated logs and the Kafka topics holding them.

Logs come from ``ioc simulate`` and are cached under ``.stack/bench``; a topic holding a
whole log is named after the log's content and kept in the local stack's Kafka, so later
bench invocations reuse it. Kafka is the local stack's broker (started if needed).
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import time
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path

from ioc_monitor.config import KafkaSettings, StackSettings, load
from services.bench.env import say
from services.harness import IOC

__all__ = [
    "count_lines",
    "delete_topics",
    "ensure_kafka",
    "fill_topic",
    "read_lines",
    "run_stamp",
    "sim_log",
    "simulate",
]


def run_stamp() -> str:
    """Five digits of the current time, naming one invocation's topics and prefixes."""
    return f"{int(time.time()) % 100000:05d}"


def simulate(path: Path, *args: str) -> Path:
    """``ioc simulate ARGS --out path``, run once: an existing ``path`` is reused.

    Args:
        path: The JSONL file (written under a temporary name, then renamed).
        *args: Options of ``ioc simulate``, e.g. ``--days 5``.

    Returns:
        ``path``.
    """
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    subprocess.run(
        [*IOC, "simulate", *args, "--out", str(tmp)], check=True, stdout=subprocess.DEVNULL
    )
    tmp.rename(path)
    return path


def sim_log(cache: Path, days: int, seed: int = 1) -> Path:
    """A simulated log of ``days`` days (``ioc simulate --days``), generated once and cached.

    Args:
        cache: Cache directory (``.stack/bench``).
        days: Simulated days from 2025-07-01 (about 14,400 events a day).
        seed: Simulation seed. Default 1.

    Returns:
        The JSONL file.
    """
    path = cache / f"sim-{days}d-seed{seed}.jsonl"
    return simulate(path, "--days", str(days), "--seed", str(seed))


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                yield line.rstrip(b"\r\n")


def count_lines(path: Path) -> int:
    """Non-empty lines of a file (the messages of a JSONL log)."""
    return sum(1 for _ in _lines(path))


def read_lines(path: Path, limit: int | None = None) -> list[bytes]:
    """The non-empty lines of a file without their line ends, the first ``limit`` (or all)."""
    return list(islice(_lines(path), limit))


def _log_tag(path: Path) -> str:
    """A short tag that changes when the log's content changes (name, size, mtime)."""
    st = path.stat()
    text = f"{path.name}:{st.st_size}:{int(st.st_mtime)}"
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def ensure_kafka() -> None:
    """Make sure the local stack's Kafka answers, starting the stack if it does not."""
    from services.stack.kafka import kafka_ready

    settings = load(StackSettings)
    if kafka_ready(settings.kafka_port):
        return
    from services.stack.control import ensure_up

    ensure_up(settings)


def _topic_size(topic: str) -> int | None:
    """Messages in a topic (sum of end offsets), None when it does not exist."""
    from kafka import KafkaConsumer, TopicPartition

    from services.publisher import client_options

    consumer = KafkaConsumer(**client_options(load(KafkaSettings)))
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            return None
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return int(sum(ends.values()))
    finally:
        consumer.close()


def delete_topics(topics: Sequence[str]) -> None:
    """Delete topics (missing ones are ignored)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from services.publisher import client_options

    admin = KafkaAdminClient(**client_options(load(KafkaSettings)), client_id="ioc-bench")
    try:
        existing = set(admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            with contextlib.suppress(KafkaError):
                admin.delete_topics(doomed)
    finally:
        admin.close()


def fill_topic(log: Path, n: int, partitions: int) -> str:
    """A topic holding exactly the log's messages (reused across bench invocations).

    Args:
        log: The JSONL log.
        n: Its messages (:func:`count_lines`).
        partitions: Partitions of the topic.

    Returns:
        The topic's name.

    Raises:
        RuntimeError: The topic does not hold ``n`` messages after ``ioc replay``.
    """
    topic = f"ioc-bench-{log.stem}-{_log_tag(log)}-p{partitions}"
    size = _topic_size(topic)
    if size == n:
        return topic
    if size is not None:
        delete_topics([topic])
        time.sleep(2.0)
    say(f"filling {topic} with {n:,} messages (once; cached in Kafka)")
    subprocess.run(
        [*IOC, "replay", str(log), "--max", "--topic", topic, "--partitions", str(partitions),
         "--no-progress"],
        check=True,
    )  # fmt: skip
    size = _topic_size(topic)
    if size != n:
        raise RuntimeError(f"bench: topic {topic} holds {size} messages, expected {n}")
    return topic
