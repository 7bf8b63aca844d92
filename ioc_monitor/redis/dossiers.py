"""A unit's overdue and due-soon dossiers, read from the worker's state (the wall's lists).

What a paged supervisor needs to act on: each in-progress dossier of the unit that is
overdue or due within a given time, with its procedure, agency, receipt and due time,
most late first. Dossier ids are case numbers (MaHoSo), not personal data; nothing
else about the applicant is stored, so nothing else can be shown.

Two round trips whatever the number of partitions: the partitions, then (pipelined)
each partition's ``open:<unit>`` zset up to ``T + within`` (scored by due time); then
one ``HMGET`` per partition for the dossiers' states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from redis import Redis

from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.rules import DossierState

__all__ = ["OpenDossier", "list_open_dossiers"]

#: Default look-ahead of :func:`list_open_dossiers`: 72 hours, in seconds.
DEFAULT_WITHIN_S: Final = 72 * 3600.0


@dataclass(frozen=True, slots=True)
class OpenDossier:
    """One in-progress dossier.

    Attributes:
        dossier_id: The case number (MaHoSo).
        procedure: ``procedure_code`` (MaTTHC), when events gave one.
        agency: ``agency_id``, when events gave one.
        received_at: Receipt time, seconds since the epoch.
        due_at: Current due time, seconds since the epoch (``None``: none known).
    """

    dossier_id: str
    procedure: str | None
    agency: str | None
    received_at: float | None
    due_at: float | None

    def late_by(self, clock: float) -> float:
        """Seconds past the due time at ``clock`` (negative: time left)."""
        return clock - self.due_at if self.due_at is not None else float("-inf")


def list_open_dossiers(
    client: Redis,
    prefix: str,
    unit: str,
    clock: float,
    within_s: float = DEFAULT_WITHIN_S,
    limit: int = 200,
) -> list[OpenDossier]:
    """In-progress dossiers of a unit due at or before ``clock + within_s``.

    Args:
        client: Sync Redis client (bytes responses).
        prefix: Key prefix (``IOC_REDIS_PREFIX``).
        unit: Unit id.
        clock: T, seconds since the epoch.
        within_s: Look-ahead in seconds. Default 72 h.
        limit: Most dossiers returned. Default 200.

    Returns:
        Overdue dossiers first, most late first, then those due soon by due time (ties
        by dossier id); at most ``limit``.
    """
    parts = sorted(int(p) for p in client.smembers(global_key(prefix, "parts")))
    keys = [PartitionKeys(prefix, p) for p in parts]
    if not keys:
        return []
    bound = repr(clock + within_s)
    with client.pipeline(transaction=False) as pipe:
        for k in keys:
            pipe.zrangebyscore(k.open(unit), "-inf", bound, start=0, num=limit)
        rows: list[list[bytes]] = pipe.execute()
        for k, ids in zip(keys, rows, strict=True):
            if ids:
                pipe.hmget(k.dossiers, ids)
        states = iter(pipe.execute())
    out: list[OpenDossier] = []
    for ids in rows:
        if not ids:
            continue
        for raw_id, raw in zip(ids, next(states), strict=True):
            if raw is None:
                continue  # completed and pruned between the two reads
            state = DossierState.decode(raw.decode())
            if state.completed:
                continue
            out.append(
                OpenDossier(
                    dossier_id=raw_id.decode(),
                    procedure=state.procedure,
                    agency=state.agency,
                    received_at=state.received_at,
                    due_at=state.due_at,
                )
            )
    out.sort(key=lambda d: (d.due_at if d.due_at is not None else float("inf"), d.dossier_id))
    return out[:limit]
