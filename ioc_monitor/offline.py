"""The offline calculator behind ``ioc kpi``: one pass over logs, state in memory."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry, generate_latest

from ioc_monitor.collector import SnapshotCollector
from ioc_monitor.engine import fold, parse_batch
from ioc_monitor.logs import batched, iter_messages
from ioc_monitor.memstore import MemoryStore
from ioc_monitor.registry import UnitRegistry
from ioc_monitor.snapshot import Snapshot

__all__ = ["BATCH_SIZE", "compute", "exposition", "process"]

#: Messages folded per step (the stream uses batches too; results do not depend on it).
BATCH_SIZE = 2000


def process(messages: Iterable[bytes], units: UnitRegistry) -> MemoryStore:
    """Fold every message, in order, into a fresh in-memory store.

    Args:
        messages: Raw message bytes, as :func:`ioc_monitor.logs.iter_messages` yields.
        units: The unit registry.

    Returns:
        The store after the last message.
    """
    store = MemoryStore()
    ids = units.ids
    for batch in batched(messages, BATCH_SIZE):
        store.apply(fold(parse_batch(batch, ids), store, store.watermark))
    return store


def compute(
    paths: Iterable[Path | str],
    units: UnitRegistry,
    clock: Literal["event", "wall"] = "event",
    now: float | None = None,
) -> Snapshot:
    """Compute every metric for JSONL logs.

    Args:
        paths: Log files (plain or ``.gz``).
        units: The unit registry.
        clock: ``event`` (the watermark) or ``wall`` (``now``, default the current time).
        now: Wall clock override in seconds, for ``wall``.

    Returns:
        The snapshot at the chosen clock.
    """
    store = process(iter_messages(paths), units)
    if clock == "event":
        return store.snapshot(store.watermark)
    return store.snapshot(time.time() if now is None else now)


def exposition(snap: Snapshot, units: UnitRegistry) -> bytes:
    """Render a snapshot in the Prometheus text format, exactly as the exporter does."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(lambda: snap, units))
    return generate_latest(registry)
