"""Serialisation of simulated events: one planned step of a dossier as an EVENTS.md v2 record.

Timestamps are written as RFC 3339 local time (``+07:00``) to the second. From the
receipt on an event carries ``received_at``, ``due_at``, ``supplements`` (cumulative),
``fee_required``, ``digitized`` and, for a dossier with a fee once it is settled,
``paid_online``; every event carries ``channel`` and ``visits``; ``ended_at``,
``apology`` and ``rating`` only where they apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from ioc_monitor.timeutil import day_of
from services.simulate.life import Dossier, Step
from services.simulate.model import DAY_S

__all__ = ["STATUS_NAMES", "event_record", "format_local"]

#: Status names of EVENTS.md by code (index 0 unused).
STATUS_NAMES: Final = (
    "", "submitted", "received", "refused", "processing", "supplement_requested",
    "fee_requested", "withdrawn", "stopped", "decided", "returned",
)  # fmt: skip
_ID_NAMESPACE: Final = uuid.UUID("6f0c7d5e-5b1a-4f7e-9a41-2a3c1e0b7d21")


@lru_cache(maxsize=4096)
def _date_text(day: int) -> str:
    return day_of(day).isoformat()


def format_local(t: int) -> str:
    """Return local seconds as RFC 3339 text with the ``+07:00`` offset.

    Args:
        t: Local seconds (see :mod:`services.simulate.model`).

    Returns:
        E.g. ``2025-07-01T07:30:00+07:00``.
    """
    day, sec = divmod(t, DAY_S)
    h, rest = divmod(sec, 3600)
    return f"{_date_text(day)}T{h:02d}:{rest // 60:02d}:{rest % 60:02d}+07:00"


def event_record(d: Dossier, s: Step, id_name: str, warp: Callable[[int], int]) -> dict[str, Any]:
    """Return the JSON-ready event of one step of a dossier, keys in a fixed order.

    Args:
        d: The dossier.
        s: The step.
        id_name: Unique name of the event; its UUID 5 is the ``event_id``.
        warp: Maps every local-seconds timestamp before it is written.

    Returns:
        The event (EVENTS.md v2).
    """
    fmt = format_local
    rec: dict[str, Any] = {
        "event_id": str(uuid.uuid5(_ID_NAMESPACE, id_name)),
        "dossier_id": d.dossier_id,
        "procedure_code": d.procedure.code,
        "unit_id": d.unit_id,
        "agency_id": d.procedure.agency_id,
        "status": STATUS_NAMES[s.status],
        "occurred_at": fmt(warp(s.t)),
    }
    received = d.received_at is not None and s.status not in (1, 3)
    if received and d.received_at is not None and s.due is not None:
        rec["received_at"] = fmt(warp(d.received_at))
        rec["due_at"] = fmt(warp(s.due))
    if s.ended is not None:
        rec["ended_at"] = fmt(warp(s.ended))
    rec["channel"] = d.channel
    if d.online_mode is not None:
        rec["online_mode"] = d.online_mode
    if received:
        rec["supplements"] = [
            {"requested_at": fmt(warp(a))}
            if b is None or b > s.t
            else {"requested_at": fmt(warp(a)), "completed_at": fmt(warp(b))}
            for a, b in s.supplements
        ]
    if s.apology:
        rec["apology"] = True
    if received:
        rec["fee_required"] = d.fee_required
        if d.paid_online is not None and s.paid:
            rec["paid_online"] = d.paid_online
        rec["digitized"] = d.digitized or s.digitized
    rec["visits"] = s.visits
    if s.rating is not None:
        rec["rating"] = s.rating
    return rec
