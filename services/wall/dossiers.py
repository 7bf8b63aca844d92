"""The unit page's list of overdue and due-soon dossiers, read from Redis.

Through :func:`ioc_monitor.redis.dossiers.list_open_dossiers` (the worker's state), in a
worker thread so the event loop never blocks on Redis. Only what a supervisor acts on
is sent: the case number, procedure code, agency, receipt and due time and how late it
is; nothing about the applicant (the state holds nothing else).
"""

from __future__ import annotations

from typing import Any, Final

import anyio.to_thread
from redis import Redis
from redis.exceptions import RedisError

from ioc_monitor.errors import StoreError
from ioc_monitor.redis.dossiers import list_open_dossiers

__all__ = ["LIMIT", "WITHIN_S", "open_dossiers"]

#: Look-ahead of the list: dossiers due within 72 hours (METRICS.md ``within="72h"``).
WITHIN_S: Final = 72 * 3600.0
#: Most dossiers listed per unit.
LIMIT: Final = 200

Json = dict[str, Any]


def _read(client: Redis, prefix: str, unit: str, clock: float) -> Json:
    rows = list_open_dossiers(client, prefix, unit, clock, within_s=WITHIN_S, limit=LIMIT)
    return {
        "clock": clock,
        "within_s": WITHIN_S,
        "limit": LIMIT,
        "error": None,
        "dossiers": [
            {
                "dossier_id": d.dossier_id,
                "procedure": d.procedure,
                "agency": d.agency,
                "received_at": d.received_at,
                "due_at": d.due_at,
                "late_s": (clock - d.due_at) if d.due_at is not None else None,
            }
            for d in rows
        ],
    }


async def open_dossiers(client: Redis, prefix: str, unit: str, clock: float | None) -> Json:
    """The unit's in-progress dossiers due before ``clock`` + 72 h, most late first.

    Args:
        client: Sync Redis client (``ioc_monitor.redis.client.connect``).
        prefix: Key prefix (``IOC_REDIS_PREFIX``).
        unit: Unit id (checked by the caller).
        clock: T, seconds since the epoch; ``None`` when unknown (event clock before
            any watermark): an empty list with ``error`` ``no_clock``.

    Returns:
        ``{"clock", "within_s", "limit", "error", "dossiers": [{dossier_id, procedure,
        agency, received_at, due_at, late_s}]}``; ``late_s`` > 0 is seconds overdue, < 0
        seconds left. ``error`` is ``redis_unreachable`` (and the list empty) when Redis
        cannot be read.
    """
    empty: Json = {"clock": clock, "within_s": WITHIN_S, "limit": LIMIT, "dossiers": []}
    if clock is None:
        return empty | {"error": "no_clock"}
    try:
        result: Json = await anyio.to_thread.run_sync(_read, client, prefix, unit, clock)
    except (RedisError, StoreError, OSError):
        return empty | {"error": "redis_unreachable"}
    return result
