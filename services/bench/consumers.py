"""In-process consumers of ``make bench``: the ceiling, the naive peer, our processor on aiokafka.

Each reads the same topic from the beginning with a consumer group of its own and
returns how many messages it handled and how long that took, measured from the
consumer's start (connection and group join included, as for the real worker).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from ioc_monitor.config import KafkaSettings, RedisSettings, load
from ioc_monitor.events import Rejection, parse_event
from ioc_monitor.redis.client import connect_async
from ioc_monitor.redis.keys import PartitionKeys
from ioc_monitor.rules import DossierState, apply_event
from ioc_monitor.windows import bucket_slots
from streams.processor import BatchProcessor, Record

__all__ = ["Timing", "run_batch_producer", "run_ceiling", "run_naive", "run_processor"]

_POLL_MS = 1000
_MAX_RECORDS = 5000


@dataclass(frozen=True, slots=True)
class Timing:
    """Messages handled and seconds taken."""

    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def _consumer(topic: str, group: str, max_records: int = _MAX_RECORDS) -> Any:
    from aiokafka import AIOKafkaConsumer

    kafka = load(KafkaSettings)
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=max_records,
    )


#: What a consumer does with one ``getmany`` result, given how many messages are still
#: wanted; returns how many it handled.
_Handle = Callable[[dict[Any, list[Any]], int], Awaitable[int]]


async def _consume(topic: str, n: int, group: str, max_records: int, handle: _Handle) -> Timing:
    """Feed ``getmany`` batches of ``topic`` to ``handle`` until ``n`` messages are handled.

    Timed from the consumer's creation (connection and group join included) to the last
    batch handled, before the consumer stops.
    """
    start = time.perf_counter()
    consumer = _consumer(topic, group, max_records)
    await consumer.start()
    count = 0
    try:
        while count < n:
            batches = await consumer.getmany(timeout_ms=_POLL_MS, max_records=max_records)
            count += await handle(batches, n - count)
    finally:
        seconds = time.perf_counter() - start
        await consumer.stop()
    return Timing(count, seconds)


async def _ceiling(topic: str, n: int, group: str) -> Timing:
    loads = orjson.loads

    async def decode(batches: dict[Any, list[Any]], _: int) -> int:
        count = 0
        for messages in batches.values():
            for msg in messages:
                loads(msg.value)
            count += len(messages)
        return count

    return await _consume(topic, n, group, _MAX_RECORDS, decode)


def run_ceiling(topic: str, n: int, group: str) -> Timing:
    """A bare aiokafka consumer that only reads and JSON-decodes (orjson) ``n`` messages."""
    return asyncio.run(_ceiling(topic, n, group))


class _Naive:
    """The naive peer: one awaited Redis command at a time, per event.

    What a straightforward Faust-agent-style implementation does: for each message,
    parse it (the same contract code as the worker), look up the de-duplication id
    and the dossier, apply the same KPI rules, then write the dossier, the event id,
    each counter (all-time, minute, hour, day) and the open index, one ``await``
    each. It does less than the worker (no pruning, no bucket indexes, no offsets, no
    exactly-once guard), so it is, if anything, flattered.
    """

    def __init__(self, client: Redis, prefix: str, units: Container[str]) -> None:
        self.r = client
        self.units = units
        self.keys = [PartitionKeys(prefix, p) for p in range(64)]

    async def handle(self, partition: int, value: bytes) -> None:
        r, k = self.r, self.keys[partition]
        ev = parse_event(value, self.units)
        if isinstance(ev, Rejection):
            await r.hincrby(k.stats, f"rej:{ev.reason}", 1)
            return
        if await r.zscore(k.naive_events, ev.event_id) is not None:
            await r.hincrby(k.stats, "duplicate", 1)
            return
        raw: bytes | None = await r.hget(k.dossiers, ev.dossier_id)  # type: ignore[assignment]
        state = DossierState.decode(raw.decode()) if raw is not None else None
        await r.zadd(k.naive_events, {ev.event_id: ev.occurred_at})
        if state is None or not state.completed:
            state, items = apply_event(state, ev)
            await r.hset(k.dossiers, ev.dossier_id, state.encode())
            for item in items:
                await r.hincrby(k.totals(item.unit), item.series, 1)
                for g, shard, idx in bucket_slots(item.t):
                    await r.hincrby(k.buckets(item.unit, g, shard), f"{idx}|{item.series}", 1)
            if state.completed:
                await r.zrem(k.open(state.unit), ev.dossier_id)
            elif state.received:
                due = state.due_at if state.due_at is not None else float("inf")
                await r.zadd(k.open(state.unit), {ev.dossier_id: due})
        await r.hincrby(k.stats, "processed", 1)


async def _naive(
    topic: str, n: int, group: str, redis_url: str, prefix: str, units: Container[str]
) -> Timing:
    client = Redis.from_url(redis_url)
    peer = _Naive(client, prefix, units)

    async def one_by_one(batches: dict[Any, list[Any]], wanted: int) -> int:
        count = 0
        for tp, messages in batches.items():
            for msg in messages:
                if count >= wanted:
                    break
                await peer.handle(tp.partition, msg.value)
                count += 1
        return count

    try:
        return await _consume(topic, n, group, 500, one_by_one)
    finally:
        await client.aclose()


def run_naive(
    topic: str, n: int, group: str, redis_url: str, prefix: str, units: Container[str]
) -> Timing:
    """The naive per-event peer (see :class:`_Naive`) over the first ``n`` messages."""
    return asyncio.run(_naive(topic, n, group, redis_url, prefix, units))


async def _processor(
    topic: str, n: int, group: str, redis: RedisSettings, units: Container[str]
) -> Timing:
    client = connect_async(redis)
    dead: list[int] = []

    async def dead_letter(*args: Any) -> None:
        dead.append(1)

    processor = BatchProcessor(client, redis.prefix, units, dead_letter, lambda _: None)

    async def in_batches(batches: dict[Any, list[Any]], _: int) -> int:
        records = [
            Record(tp.partition, m.offset, m.key, m.value)
            for tp, messages in batches.items()
            for m in messages
        ]
        if records:
            await processor.process(records)
        return len(records)

    try:
        return await _consume(topic, n, group, 2000, in_batches)
    finally:
        await client.aclose()


def run_processor(
    topic: str, n: int, group: str, redis: RedisSettings, units: Container[str]
) -> Timing:
    """The worker's own processor fed by a bare aiokafka consumer (no Faust).

    :class:`~streams.processor.BatchProcessor` gets batches of ≤ 2000 records, as from
    the Faust agent: how fast our code is without the framework.
    """
    return asyncio.run(_processor(topic, n, group, redis, units))


async def _batch_producer(lines: list[bytes], topic: str) -> Timing:
    from aiokafka import AIOKafkaProducer
    from aiokafka.partitioner import DefaultPartitioner

    from services.publisher import dossier_key

    kafka = load(KafkaSettings)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        parts = sorted(await producer.partitions_for(topic))
        partitioner = DefaultPartitioner()
        start = time.perf_counter()
        batches = {p: producer.create_batch() for p in parts}
        sent = []
        for line in lines:
            key = dossier_key(line)
            p = partitioner(key, parts, parts)
            if batches[p].append(key=key, value=line, timestamp=None) is None:
                sent.append(await producer.send_batch(batches[p], topic, partition=p))
                batches[p] = producer.create_batch()
                batches[p].append(key=key, value=line, timestamp=None)
        for p, batch in batches.items():
            if batch.record_count():
                sent.append(await producer.send_batch(batch, topic, partition=p))
        await asyncio.gather(*sent)
        return Timing(len(lines), time.perf_counter() - start)
    finally:
        await producer.stop()


def run_batch_producer(lines: list[bytes], topic: str) -> Timing:
    """Send ``lines`` to an existing topic with aiokafka's batch API.

    Keyed by dossier (murmur2 partitioner), ``acks=all``, idempotent, no compression:
    what a producer that builds record batches in C, instead of one Python call chain
    per message, reaches on the same machine.
    """
    return asyncio.run(_batch_producer(lines, topic))
