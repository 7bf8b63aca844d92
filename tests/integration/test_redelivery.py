"""A record redelivered within one batch is applied once (regression, real Redis).

After a rebalance or a seek, Faust can hand the worker the same offset twice in one
batch; the writer must skip every offset not above the last one applied.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from redis.asyncio import Redis

from ioc_monitor.redis.keys import PartitionKeys
from ioc_monitor.redis.writer import commit, prepare
from ioc_monitor.registry import load_registry

pytestmark = pytest.mark.integration


def _event(i: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"r-{i}",
            "dossier_id": f"R-{i}",
            "unit_id": "qn-ttpvhcc",
            "status": "submitted",
            "occurred_at": f"2025-07-10T09:0{i}:00+07:00",
        }
    )


def test_offsets_repeated_within_a_batch_are_applied_once(
    redis_url: str, redis_prefix: str
) -> None:
    prefix = redis_prefix
    units = load_registry(None).ids

    async def scenario() -> None:
        client = Redis.from_url(redis_url)
        keys = PartitionKeys(prefix, 0)
        try:
            first = [(0, _event(0)), (1, _event(1)), (1, _event(1)), (2, b"{"), (2, b"{")]
            prep = await prepare(client, keys, first, units)
            assert prep is not None and prep.skipped == 2 and prep.last_offset == 2
            assert [offset for offset, _, _ in prep.dead_letters] == [2]
            assert await commit(client, prep)
            # A later batch restarting below the stored offset, with repeats again.
            second = [(1, _event(1)), (3, _event(3)), (2, b"{"), (3, _event(3)), (4, _event(4))]
            prep = await prepare(client, keys, second, units)
            assert prep is not None and prep.skipped == 3 and prep.last_offset == 4
            assert await commit(client, prep)
            stats = await client.hgetall(keys.stats)
            assert int(stats[b"processed"]) == 4
            assert int(stats[b"rej:malformed_json"]) == 1
            assert b"duplicate" not in stats
            assert await client.get(keys.offset) == b"4"
        finally:
            await client.aclose()

    asyncio.run(scenario())
