"""KPI rules per dossier (KPIS.md v2), pure: no I/O.

:func:`apply_event` folds one accepted, non-duplicate event into the state of its
dossier and returns the counting effects (:class:`Item`) it causes, each at most once
per dossier, attributed to the unit of the dossier's first accepted event:

======================  =======================================  ===================
series                  counted by                               at (bucket)
======================  =======================================  ===================
``received:<channel>``  first event with ``received_at``          ``received_at``
``digitized``           that event, when ``digitized: true``      ``received_at``
``refused``             first status-3 event                      ``occurred_at``
``completed:<t>``       first status 7–10 event                   end time
``completed_with_fee``  that event, when some event up to it has  end time
                        ``fee_required``/``paid_online`` or is
                        status 6
``paid_online``         that event, when some event up to it has  end time
                        ``paid_online: true``
``multi_visit``         that event, when the largest ``visits``   end time
                        up to it is 3 or more
``rated:<rating>``      first event with ``rating`` (also after   ``occurred_at``
                        the completion)
======================  =======================================  ===================
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from typing import Final

import msgspec

from ioc_monitor.events import CHANNELS, END_STATUSES, RATINGS, Event
from ioc_monitor.timeutil import day_index

__all__ = [
    "MULTI_VISIT_MIN",
    "SERIES",
    "TIMELINESS",
    "DossierState",
    "Item",
    "apply_event",
    "classify_completion",
    "event_key",
]

#: Timeliness classes of a completion.
TIMELINESS: Final = ("early", "on_time", "late")
#: Every counted series (see the module docstring).
SERIES: Final = (
    *(f"received:{c}" for c in CHANNELS),
    *(f"completed:{t}" for t in TIMELINESS),
    "refused",
    "digitized",
    "completed_with_fee",
    "paid_online",
    "multi_visit",
    *(f"rated:{r}" for r in RATINGS),
)
#: Largest ``visits`` at completion from which a dossier counts as multi-visit.
MULTI_VISIT_MIN: Final = 3

_RECEIVED: Final = 1
_COMPLETED: Final = 2
_REFUSED: Final = 4
_APOLOGY: Final = 8
_FEE: Final = 16
_PAID: Final = 32
_RATED: Final = 64
#: Bytes of an accepted event id's digest kept in its dossier's state.
EVENT_KEY_BYTES: Final = 8


def event_key(event_id: str) -> bytes:
    """The fixed-size digest of an event id kept in its dossier's state (8 bytes).

    BLAKE2b-64: two different ids of one dossier collide with probability about
    ``n² / 2⁶⁵`` for ``n`` events, i.e. never in practice (a dossier has tens).
    """
    return hashlib.blake2b(event_id.encode(), digest_size=EVENT_KEY_BYTES).digest()


@dataclass(slots=True)
class DossierState:
    """What the rules remember about one dossier.

    Attributes:
        unit: Unit of the dossier's first accepted event.
        received: The receipt was counted.
        completed: The completion was counted (the dossier is frozen).
        refused: The refusal was counted.
        apology: An accepted event carried ``apology: true``.
        fee: An accepted event had ``fee_required: true``, ``paid_online: true`` or
            status 6.
        paid: An accepted event had ``paid_online: true``.
        rated: The first rating was counted.
        visits: Largest ``visits`` of the accepted events.
        due_at: Due time of the accepted event with the latest ``occurred_at`` among
            those carrying ``due_at`` (seconds since the epoch), if any.
        due_occurred_at: That event's ``occurred_at``.
        supplement_events: Number of accepted status-5 events.
        completed_at: End time of the completing event (seconds since the epoch): an
            event more than :data:`~ioc_monitor.engine.DOSSIER_HORIZON_S` after it (in
            its own event time) finds the dossier forgotten.
        events: :func:`event_key` of every accepted event of the dossier (also those
            after its completion), concatenated in the order they were accepted (8 bytes
            each): a repeat of one of them is a duplicate (:meth:`has_event`).
        received_at: Receipt time (seconds) while in progress (for the dossier lists).
        procedure: Last ``procedure_code`` given, while in progress.
        agency: Last ``agency_id`` given, while in progress.
    """

    unit: str
    received: bool = False
    completed: bool = False
    refused: bool = False
    apology: bool = False
    due_at: float | None = None
    due_occurred_at: float | None = None
    supplement_events: int = 0
    completed_at: float | None = None
    events: bytes = b""
    fee: bool = False
    paid: bool = False
    rated: bool = False
    visits: int = 0
    received_at: float | None = None
    procedure: str | None = None
    agency: str | None = None

    def has_event(self, key: bytes) -> bool:
        """Whether the :func:`event_key` ``key`` is one of :attr:`events`.

        A match counts only at a multiple of 8 bytes (one digest, not the end of one and
        the start of the next).
        """
        events = self.events
        at = events.find(key)
        while at >= 0:
            if at % EVENT_KEY_BYTES == 0:
                return True
            at = events.find(key, at + 1)
        return False

    def encode(self) -> str:
        """Serialise compactly for the state store.

        ``unit|flags|due|due_occ|supp|completed_at|events|visits|received|procedure|agency``:
        the event digests are base64 of their concatenation (about 11 bytes an event);
        ``procedure`` and ``agency`` have ``%`` and ``|`` percent-escaped. A completed
        dossier keeps only ``unit|flags||||completed_at|events``.
        """
        flags = (
            (_RECEIVED if self.received else 0)
            | (_COMPLETED if self.completed else 0)
            | (_REFUSED if self.refused else 0)
            | (_APOLOGY if self.apology else 0)
            | (_FEE if self.fee else 0)
            | (_PAID if self.paid else 0)
            | (_RATED if self.rated else 0)
        )
        ids = binascii.b2a_base64(self.events, newline=False).decode()
        if self.completed:
            done = "" if self.completed_at is None else repr(self.completed_at)
            return f"{self.unit}|{flags}||||{done}|{ids}"
        due = _num(self.due_at)
        occ = _num(self.due_occurred_at)
        tail = f"{self.visits}|{_num(self.received_at)}|{_esc(self.procedure)}|{_esc(self.agency)}"
        return f"{self.unit}|{flags}|{due}|{occ}|{self.supplement_events}||{ids}|{tail}"

    @classmethod
    def decode(cls, text: str) -> DossierState:
        """Inverse of :meth:`encode` (the fields passed in their declared order)."""
        parts = text.split("|")
        flags = int(parts[1])
        due, occ, supplements, done = parts[2], parts[3], parts[4], parts[5]
        if len(parts) > 7:
            visits = int(parts[7])
            received_at = float(parts[8]) if parts[8] else None
            procedure, agency = _unesc(parts[9]), _unesc(parts[10])
        else:
            visits, received_at, procedure, agency = 0, None, None, None
        return cls(
            parts[0],
            bool(flags & _RECEIVED),
            bool(flags & _COMPLETED),
            bool(flags & _REFUSED),
            bool(flags & _APOLOGY),
            float(due) if due else None,
            float(occ) if occ else None,
            int(supplements) if supplements else 0,
            float(done) if done else None,
            binascii.a2b_base64(parts[6]),
            bool(flags & _FEE),
            bool(flags & _PAID),
            bool(flags & _RATED),
            visits,
            received_at,
            procedure,
            agency,
        )


def _num(x: float | None) -> str:
    return "" if x is None else repr(x)


def _esc(text: str | None) -> str:
    return "" if text is None else text.replace("%", "%25").replace("|", "%7C")


def _unesc(text: str) -> str | None:
    if not text:
        return None
    return text.replace("%7C", "|").replace("%25", "%") if "%" in text else text


class Item(msgspec.Struct, frozen=True, gc=False):
    """One counted occurrence: ``series`` of :data:`SERIES` for ``unit`` at time ``t``.

    A frozen ``msgspec.Struct`` (several per message: cheaper to build than a dataclass).
    """

    unit: str
    series: str
    t: float


def classify_completion(end: float, due: float, supplements: int, apology: bool) -> str:
    """Timeliness of a completion.

    Args:
        end: End of processing (seconds since the epoch).
        due: ``due_at`` of the completing event.
        supplements: Number of supplement requests of the dossier.
        apology: An apology was issued up to and including the completing event.

    Returns:
        ``late`` if ``end > due``, more than one supplement or an apology; else
        ``early`` if the local date of ``end`` is before the local date of ``due``;
        else ``on_time``.
    """
    if end > due or supplements > 1 or apology:
        return "late"
    if day_index(end) < day_index(due):
        return "early"
    return "on_time"


def apply_event(state: DossierState | None, ev: Event) -> tuple[DossierState, list[Item]]:
    """Fold one accepted, non-duplicate event into its dossier's state.

    Args:
        state: The dossier's state so far, or ``None`` for its first accepted event.
        ev: The event.

    Returns:
        The new state (the same object, mutated, when one was given) and the items
        to count. An event of a completed dossier changes nothing but a first rating.
    """
    if state is None:
        state = DossierState(unit=ev.unit_id)
    items: list[Item] = []
    if ev.rating is not None and not state.rated:
        state.rated = True
        items.append(Item(state.unit, f"rated:{ev.rating}", ev.occurred_at))
    if state.completed:
        return state, items
    if ev.apology:
        state.apology = True
    if ev.status == 5:
        state.supplement_events += 1
    if ev.fee_required or ev.paid_online or ev.status == 6:
        state.fee = True
    if ev.paid_online:
        state.paid = True
    state.visits = max(state.visits, ev.visits)
    if ev.procedure is not None:
        state.procedure = ev.procedure
    if ev.agency is not None:
        state.agency = ev.agency
    if ev.due_at is not None and (
        state.due_occurred_at is None or ev.occurred_at >= state.due_occurred_at
    ):
        state.due_at = ev.due_at
        state.due_occurred_at = ev.occurred_at
    if ev.status == 3 and not state.refused:
        state.refused = True
        items.append(Item(state.unit, "refused", ev.occurred_at))
    if ev.received_at is not None and not state.received:
        state.received = True
        state.received_at = ev.received_at
        items.append(Item(state.unit, f"received:{ev.channel}", ev.received_at))
        if ev.digitized:
            items.append(Item(state.unit, "digitized", ev.received_at))
    if ev.status in END_STATUSES:
        assert ev.ended_at is not None and ev.due_at is not None  # guaranteed by validation
        end = ev.ended_at
        state.completed = True
        state.completed_at = end
        timeliness = classify_completion(
            end,
            ev.due_at,
            max(ev.supplements, state.supplement_events),
            state.apology,
        )
        items.append(Item(state.unit, f"completed:{timeliness}", end))
        if state.fee:
            items.append(Item(state.unit, "completed_with_fee", end))
        if state.paid:
            items.append(Item(state.unit, "paid_online", end))
        if state.visits >= MULTI_VISIT_MIN:
            items.append(Item(state.unit, "multi_visit", end))
    return state, items
