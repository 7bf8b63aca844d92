"""Section 3 of ``make bench``: freshness, from an event handed to the producer to its export.

A steady load goes into a fresh topic with one ``ioc worker`` and one ``ioc exporter``
running; ``/metrics`` is scraped back to back, and the *i*-th event counts as exported
when a scrape that returned at time *s* shows ``ioc_events_processed_total`` ≥ *i*: its
latency is *s* minus the time it was handed to the producer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ioc_monitor.config import KafkaSettings, load
from services.bench.config import BenchConfig
from services.bench.env import say
from services.bench.inputs import delete_topics, read_lines, run_stamp
from services.bench.report import Figure, Goal
from services.bench.workers import Exporter, Stack, cheap_count
from services.harness import IOC, RedisServer, stop
from services.publisher import ensure_topic
from services.replay import produce

__all__ = ["Freshness", "run_freshness"]

#: Events sent (and awaited) before the measured load, so the worker is consuming.
_WARM: Final = 200


@dataclass
class Freshness:
    """Latency figures (ms) of the freshness runs and the scrape resolution (ms)."""

    p50: Figure
    p99: Figure
    worst: Figure
    resolution: Figure


def _processed(body: bytes) -> int:
    for line in body.decode().splitlines():
        if line.startswith("ioc_events_processed_total "):
            return int(float(line.split()[1]))
    return 0


def _timed_lines(lines: list[bytes], sent: list[float]) -> Iterator[bytes]:
    for line in lines:
        sent.append(time.monotonic())
        yield line


def _measure(
    exporter: Exporter, lines: list[bytes], kafka: KafkaSettings, topic: str, cfg: BenchConfig
) -> tuple[list[float], list[float]]:
    """Send ``lines`` at ``cfg.freshness_rate`` while scraping; (latencies, gaps) in s."""
    sent: list[float] = []
    producer = threading.Thread(
        target=produce,
        args=(_timed_lines(lines, sent), kafka),
        kwargs={"rate": cfg.freshness_rate, "topic": topic, "progress": False},
    )
    latencies: list[float] = []
    gaps: list[float] = []
    last = time.monotonic()
    producer.start()
    deadline = time.monotonic() + cfg.freshness_s + 120
    while len(latencies) < len(lines) and time.monotonic() < deadline:
        body = exporter.scrape()
        now = time.monotonic()
        gaps.append(now - last)
        last = now
        shown = min(_processed(body) - _WARM, len(sent))
        while len(latencies) < shown:
            latencies.append(now - sent[len(latencies)])
        time.sleep(0.01)
    producer.join()
    return latencies, gaps


def run_freshness(cfg: BenchConfig, log: Path, server: RedisServer) -> Freshness:
    """Make ``cfg.runs`` freshness runs of ``cfg.freshness_s`` s at ``cfg.freshness_rate``/s.

    Args:
        cfg: Settings.
        log: The throughput log (its first events are sent).
        server: The bench's private Redis (emptied before each run).

    Raises:
        RuntimeError: The worker did not start, or not every event reached the exporter.
    """
    res = Freshness(
        Figure("event → exported, p50", "ms"),
        Figure("event → exported, p99", "ms", goal=Goal("<=", 1000.0)),
        Figure("event → exported, max", "ms"),
        Figure("time between two scrapes (resolution)", "ms"),
    )
    total = cfg.freshness_s * cfg.freshness_rate
    lines = read_lines(log, _WARM + total)
    kafka = load(KafkaSettings)
    stack = Stack(server.url, False, cfg.workdir)
    client = server.client()
    stamp = run_stamp()
    for i in range(cfg.runs):
        topic = f"ioc-bench-fresh-{stamp}-{i}"
        prefix = f"f{stamp}r{i}"
        say(f"freshness run {i + 1}/{cfg.runs}: {total:,} events at {cfg.freshness_rate}/s")
        client.flushall()
        ensure_topic(kafka, topic, cfg.partitions)
        worker = stack.spawn([*IOC, "worker"], stack.env(topic, prefix), f"{prefix}.log")
        try:
            with Exporter(stack, prefix, "wall") as exporter:
                produce(lines[:_WARM], kafka, topic=topic, progress=False)
                deadline = time.monotonic() + 120
                while cheap_count(client, prefix) < _WARM:
                    if time.monotonic() > deadline:
                        raise RuntimeError("bench: the worker did not start consuming")
                    time.sleep(0.05)
                latencies, gaps = _measure(
                    exporter, lines[_WARM : _WARM + total], kafka, topic, cfg
                )
        finally:
            stop(worker)
        delete_topics([topic, f"{topic}.dlq"])
        if len(latencies) < total:
            raise RuntimeError(
                f"bench: only {len(latencies)} of {total} events reached the exporter"
            )
        latencies.sort()
        res.p50.values.append(1000 * latencies[len(latencies) // 2])
        res.p99.values.append(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))])
        res.worst.values.append(1000 * latencies[-1])
        gaps.sort()
        res.resolution.values.append(1000 * gaps[len(gaps) // 2])
    client.flushall()
    client.close()
    return res
