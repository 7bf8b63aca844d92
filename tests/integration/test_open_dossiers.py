"""A unit's overdue and due-soon dossiers read back from real Redis (the wall's lists).

Batches are applied by the worker's own writer (prepare + commit) on two partitions;
the list is then read with :func:`ioc_monitor.redis.dossiers.list_open_dossiers`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio

from ioc_monitor.redis.dossiers import OpenDossier, list_open_dossiers
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.redis.writer import commit, prepare

pytestmark = pytest.mark.integration

UNITS = {"u-a", "u-b"}


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _ev(n: int, dossier: str, status: int, due: str, **fields: Any) -> bytes:
    body = {
        "event_id": f"e{n}",
        "dossier_id": dossier,
        "unit_id": "u-a",
        "status": status,
        "occurred_at": "2026-03-18T09:00:00+07:00",
        "received_at": "2026-03-18T08:00:00+07:00",
        "due_at": due,
        **fields,
    }
    return orjson.dumps(body)


PARTITIONS: dict[int, list[bytes]] = {
    0: [
        # overdue by 19 h at the clock, procedure with a '|' (escaped in the state)
        _ev(1, "D-late", 2, "2026-03-19T17:00:00+07:00", procedure_code="1.0|42",
            agency_id="so-tp"),
        # due in 5 h
        _ev(2, "D-soon", 2, "2026-03-20T17:00:00+07:00", procedure_code="2.001"),
        # completed: not listed
        _ev(3, "D-done", 2, "2026-03-19T10:00:00+07:00"),
        _ev(4, "D-done", 10, "2026-03-19T10:00:00+07:00"),
    ],
    1: [
        # overdue by 2 days, in the other partition
        _ev(5, "D-later", 4, "2026-03-18T12:00:00+07:00", agency_id="so-xd"),
        # due in 4 days: beyond 72 h
        _ev(6, "D-far", 2, "2026-03-24T12:00:00+07:00"),
        # another unit's overdue dossier
        _ev(7, "D-b", 2, "2026-03-19T10:00:00+07:00", unit_id="u-b"),
    ],
}  # fmt: skip


async def _apply(url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        for partition, values in PARTITIONS.items():
            keys = PartitionKeys(prefix, partition)
            await client.sadd(global_key(prefix, "parts"), partition)
            prep = await prepare(client, keys, list(enumerate(values)), UNITS)
            assert prep is not None and await commit(client, prep)
    finally:
        await client.aclose()


def test_overdue_first_most_late_first_then_due_soon(redis_url: str, redis_prefix: str) -> None:
    asyncio.run(_apply(redis_url, redis_prefix))
    client = redis.Redis.from_url(redis_url)
    clock = _ts("2026-03-20T12:00:00+07:00")
    try:
        listed = list_open_dossiers(client, redis_prefix, "u-a", clock)
        only_late = list_open_dossiers(client, redis_prefix, "u-a", clock, within_s=0)
        first = list_open_dossiers(client, redis_prefix, "u-a", clock, limit=1)
    finally:
        client.close()
    received = _ts("2026-03-18T08:00:00+07:00")
    assert listed == [
        OpenDossier("D-later", None, "so-xd", received, _ts("2026-03-18T12:00:00+07:00")),
        OpenDossier("D-late", "1.0|42", "so-tp", received, _ts("2026-03-19T17:00:00+07:00")),
        OpenDossier("D-soon", "2.001", None, received, _ts("2026-03-20T17:00:00+07:00")),
    ]
    assert listed[0].late_by(clock) == 2 * 86400
    assert listed[2].late_by(clock) == -5 * 3600
    assert [d.dossier_id for d in only_late] == ["D-later", "D-late"]
    assert [d.dossier_id for d in first] == ["D-later"]
