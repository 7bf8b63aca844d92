"""Fold a batch of raw messages into a :class:`Delta` of state changes, pure.

The same code drives the offline calculator (``ioc kpi``, state in memory) and the
streaming worker (state in Redis, one partition at a time). The caller provides a
:class:`Lookup` for the state that existed before the batch; the engine overlays
the batch's own changes, so a batch may hold several events of one dossier.

De-duplication is per dossier (KPIS.md v2): an event is a duplicate when its id is
among the ids already accepted for its dossier, which the dossier's state keeps.

The horizon is decided at lookup from stored times, in event time: a new (not
duplicate) event more than :data:`DOSSIER_HORIZON_S` (400 days) after its dossier's
completion, by its own ``occurred_at``, finds the dossier forgotten and starts a new
life of it (whose state keeps the old ids, so re-sends stay duplicates). Every other
event finds it, whenever it arrives, so the answer does not depend on batching,
partitioning, restarts or arrival order. The stores keep a completed dossier until
their watermark is :data:`DOSSIER_RETENTION_S` (800 days) past its completion, so a
re-send up to 400 days late in arrival is still judged exactly; pruning is a
storage concern that never changes an answer within that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from ioc_monitor.events import Event, Rejection, parse_event
from ioc_monitor.rules import DossierState, Item, apply_event, event_key
from ioc_monitor.windows import recent_from

__all__ = [
    "DOSSIER_HORIZON_S",
    "DOSSIER_RETENTION_S",
    "Delta",
    "Lookup",
    "expired",
    "fold",
    "keys_to_load",
    "parse_batch",
]

#: An event more than this far (seconds, event time) after its dossier's completion
#: finds the dossier forgotten: 400 days (KPIS.md v2 "De-duplication and memory").
DOSSIER_HORIZON_S: Final = 400 * 86400
#: The stores keep a completed dossier, with its event ids, until their watermark is
#: this far (seconds) past the watermark at its completion: 800 days, the horizon plus
#: 400 days of lateness in arrival (a whole log re-sent a year later).
DOSSIER_RETENTION_S: Final = 2 * DOSSIER_HORIZON_S


_INF: Final = float("inf")


class Lookup(Protocol):
    """Read access to the state before the batch."""

    def dossier(self, dossier_id: str) -> DossierState | None:
        """Return the dossier's state, or ``None`` when it was never seen (or pruned)."""


@dataclass(slots=True)
class Delta:
    """State changes caused by one batch.

    Attributes:
        processed: Accepted, non-duplicate messages.
        duplicate: Messages whose ``event_id`` was already accepted for their dossier.
        rejected: Rejected messages per reason.
        rejections: ``(position in batch, rejection)`` for the dead-letter topic.
        items: Counted occurrences (receipts, refusals, completions).
        recent: ``(item, dossier_id)`` of items kept individually (see
            :func:`ioc_monitor.windows.recent_from`).
        dossiers: New state of every dossier touched.
        completed: ``dossier_id -> watermark`` when the dossier completed (for pruning).
        forgotten: Dossiers whose stored state was past the horizon and was replaced.
        open: ``dossier_id -> (unit, due or None)``: in progress with that due time
            (``inf`` when unknown), or ``None`` to remove from the open index.
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
    forgotten: set[str] = field(default_factory=set)
    open: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    units: set[str] = field(default_factory=set)
    watermark: float | None = None


def parse_batch(raws: Sequence[bytes], units: Container[str]) -> list[Event | Rejection]:
    """Parse every message of a batch (see :func:`ioc_monitor.events.parse_event`)."""
    return [parse_event(raw, units) for raw in raws]


def keys_to_load(parsed: Sequence[Event | Rejection]) -> set[str]:
    """Return the dossier ids a batch needs to look up."""
    return {ev.dossier_id for ev in parsed if isinstance(ev, Event)}


def expired(state: DossierState, ev: Event) -> bool:
    """Whether ``ev`` finds its dossier's stored state forgotten (past the horizon).

    Args:
        state: The dossier's state.
        ev: The event looking it up.

    Returns:
        True when the dossier completed more than :data:`DOSSIER_HORIZON_S` before the
        event's ``occurred_at``.
    """
    done = state.completed_at
    return done is not None and ev.occurred_at - done > DOSSIER_HORIZON_S


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
    dossiers, counted, recent, opened = delta.dossiers, delta.items, delta.recent, delta.open
    keep_from = recent_from(watermark) if watermark is not None else _INF
    for pos, ev in enumerate(parsed):
        if isinstance(ev, Rejection):
            delta.rejected[ev.reason] += 1
            delta.rejections.append((pos, ev))
            continue
        dossier_id = ev.dossier_id
        state = dossiers.get(dossier_id)
        if state is None:
            state = lookup.dossier(dossier_id)
        key = event_key(ev.event_id)
        if state is not None and state.has_event(key):
            delta.duplicate += 1
            continue
        delta.processed += 1
        delta.units.add(ev.unit_id)
        if delta.watermark is None or ev.occurred_at > delta.watermark:
            delta.watermark = ev.occurred_at
            keep_from = recent_from(ev.occurred_at)
        known = state.events if state is not None else b""
        if state is not None and expired(state, ev):
            state = None  # a new life of the dossier; its ids still de-duplicate
            delta.forgotten.add(dossier_id)
        was_completed = state is not None and state.completed
        state, items = apply_event(state, ev)  # a completed dossier: only a first rating
        state.events = known + key
        dossiers[dossier_id] = state
        for item in items:
            counted.append(item)
            if item.t >= keep_from:
                recent.append((item, dossier_id))
        if was_completed:
            continue
        if state.completed:
            delta.completed[dossier_id] = delta.watermark
            opened[dossier_id] = (state.unit, None)
        elif state.received:
            opened[dossier_id] = (state.unit, state.due_at if state.due_at is not None else _INF)
    return delta
