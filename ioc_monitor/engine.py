"""Fold a batch of raw messages into a :class:`Delta` of state changes, pure.

The same code drives the offline calculator (``ioc kpi``, state in memory) and the
streaming worker (state in Redis, one partition at a time). The caller provides a
:class:`Lookup` for the state that existed before the batch; the engine overlays
the batch's own changes, so a batch may hold several events of one dossier.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ioc_monitor.events import Event, Rejection, parse_event
from ioc_monitor.rules import DossierState, Item, apply_event
from ioc_monitor.windows import recent_from

__all__ = ["Delta", "Lookup", "fold", "keys_to_load", "parse_batch"]


class Lookup(Protocol):
    """Read access to the state before the batch."""

    def dossier(self, dossier_id: str) -> DossierState | None:
        """Return the dossier's state, or ``None`` when it was never seen (or pruned)."""

    def seen(self, event_id: str) -> bool:
        """Return whether an event with this id was already accepted."""


@dataclass(slots=True)
class Delta:
    """State changes caused by one batch.

    Attributes:
        processed: Accepted, non-duplicate messages.
        duplicate: Messages whose ``event_id`` was already accepted.
        rejected: Rejected messages per reason.
        rejections: ``(position in batch, rejection)`` for the dead-letter topic.
        items: Counted occurrences (receipts, refusals, completions).
        recent: ``(item, dossier_id)`` of items kept individually (see
            :func:`ioc_monitor.windows.recent_from`).
        dossiers: New state of every dossier touched.
        completed: ``dossier_id -> watermark`` when the dossier completed (for pruning).
        open: ``dossier_id -> (unit, due or None)``: in progress with that due time
            (``inf`` when unknown), or ``None`` to remove from the open index.
        events: ``event_id -> watermark`` when the event was accepted (de-duplication).
        units: Units named by accepted events.
        watermark: Largest ``occurred_at`` after the batch, if any.
    """

    processed: int = 0
    duplicate: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejections: list[tuple[int, Rejection]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    recent: list[tuple[Item, str]] = field(default_factory=list)
    dossiers: dict[str, DossierState] = field(default_factory=dict)
    completed: dict[str, float] = field(default_factory=dict)
    open: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    events: dict[str, float] = field(default_factory=dict)
    units: set[str] = field(default_factory=set)
    watermark: float | None = None


def parse_batch(raws: Sequence[bytes], units: Container[str]) -> list[Event | Rejection]:
    """Parse every message of a batch (see :func:`ioc_monitor.events.parse_event`)."""
    return [parse_event(raw, units) for raw in raws]


def keys_to_load(parsed: Sequence[Event | Rejection]) -> tuple[set[str], set[str]]:
    """Return the dossier ids and event ids a batch needs to look up."""
    dossiers: set[str] = set()
    events: set[str] = set()
    for ev in parsed:
        if isinstance(ev, Event):
            dossiers.add(ev.dossier_id)
            events.add(ev.event_id)
    return dossiers, events


def fold(
    parsed: Sequence[Event | Rejection],
    lookup: Lookup,
    watermark: float | None,
) -> Delta:
    """Apply a parsed batch, in order, to the state seen through ``lookup``.

    Args:
        parsed: Output of :func:`parse_batch`.
        lookup: State before the batch.
        watermark: Watermark before the batch (``None`` if nothing was accepted yet).

    Returns:
        The batch's :class:`Delta`.
    """
    delta = Delta(watermark=watermark)
    dossiers = delta.dossiers
    events = delta.events
    for pos, ev in enumerate(parsed):
        if isinstance(ev, Rejection):
            delta.rejected[ev.reason] += 1
            delta.rejections.append((pos, ev))
            continue
        if ev.event_id in events or lookup.seen(ev.event_id):
            delta.duplicate += 1
            continue
        delta.processed += 1
        delta.units.add(ev.unit_id)
        if delta.watermark is None or ev.occurred_at > delta.watermark:
            delta.watermark = ev.occurred_at
        events[ev.event_id] = delta.watermark
        state = dossiers.get(ev.dossier_id)
        if state is None:
            state = lookup.dossier(ev.dossier_id)
        if state is not None and state.completed:
            continue
        state, items = apply_event(state, ev)
        dossiers[ev.dossier_id] = state
        if items:
            keep_from = recent_from(delta.watermark)
            for item in items:
                delta.items.append(item)
                if item.t >= keep_from:
                    delta.recent.append((item, ev.dossier_id))
        if state.completed:
            delta.completed[ev.dossier_id] = delta.watermark
            delta.open[ev.dossier_id] = (state.unit, None)
        elif state.received:
            due = state.due_at if state.due_at is not None else float("inf")
            delta.open[ev.dossier_id] = (state.unit, due)
    return delta
