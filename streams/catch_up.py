"""A worker that starts far behind its topic first catches up as ``ioc backfill`` does.

Faust's consumer is most of a worker's CPU (``docs/benchmarks.md``), and a backlog of
millions of messages (a new deployment on a year of history, a worker down for days,
state rebuilt by ``ioc recover``) is read several times faster by
:func:`streams.backfill.backfill`: a bare consumer, the partitions split over helper
processes. So :func:`streams.worker.run_worker`, before Faust starts:

1. reads how far behind Redis is (:func:`behind`): per partition, the end offset minus
   the first offset not applied yet (Redis' stored offset + 1, or the start of the log);
2. if that is at least ``IOC_WORKER_CATCH_UP`` messages (default 100,000; ``0``:
   never), takes the catch-up lease (:mod:`streams.lease`: ``<prefix>:catchup``, also
   taken by ``ioc backfill``), backfills up to the end offsets, and releases the lease;
3. a worker that finds the lease held waits until it is released, or has expired
   because its holder died, and then starts Faust: two readers of the same partitions
   would only share the machine's cores.

Then Faust starts as always, and each partition resumes after the offset Redis holds.

The lease only saves work; exactly-once rests on the commit script's offset check, as
for every worker and backfill. Anything that stops the catch-up (Kafka or Redis not
answering, a missing topic, an undecodable batch) is reported and the worker goes on
with Faust, which deals with it as it always did. SIGTERM or SIGINT during the
catch-up stops it cleanly (helpers closed, lease released) and the worker exits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.redis.client import connect_async
from ioc_monitor.redis.keys import PartitionKeys
from streams.backfill import BackfillJob, backfill, first_offset
from streams.kafka_tls import aiokafka_options
from streams.lease import Stopped, held, lease_key, until_signal, wait_released

__all__ = ["behind", "catch_up"]


async def behind(kafka: KafkaSettings, redis: RedisSettings) -> int | None:
    """Messages of ``kafka.topic`` that Redis has not applied yet, over all partitions.

    Returns:
        That count; ``None`` when the topic does not exist.

    Raises:
        Exception: Kafka or Redis did not answer (the caller reports it).
    """
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    options = aiokafka_options(kafka)
    consumer = AIOKafkaConsumer(**options, enable_auto_commit=False)
    producer = AIOKafkaProducer(**options)  # its metadata names the partitions
    await consumer.start()
    try:
        if kafka.topic not in await consumer.topics():
            return None
        await producer.start()
        parts = sorted(await producer.partitions_for(kafka.topic))
        tps = [TopicPartition(kafka.topic, p) for p in parts]
        ends = await consumer.end_offsets(tps)
        begins = await consumer.beginning_offsets(tps)
    finally:
        await consumer.stop()
        await producer.stop()
    client = connect_async(redis, retries=1)
    try:
        total = 0
        for tp in tps:
            raw = await client.get(PartitionKeys(redis.prefix, tp.partition).offset)
            stored = int(raw) if raw is not None else None
            total += max(0, ends[tp] - first_offset(stored, begins[tp]))
        return total
    finally:
        await client.aclose()


def catch_up(job: BackfillJob, min_behind: int, say: Callable[[str], None]) -> bool:
    """Backfill before Faust starts, when Redis is at least ``min_behind`` messages behind.

    Runs on its own event loop (``asyncio.run``); call it before the worker's loop.

    Args:
        job: The backfill (the worker's settings; shards: its helper processes).
        min_behind: Messages behind from which to catch up; 0: never.
        say: Reports what happened, one line at a time (e.g. to stderr).

    Returns:
        False when SIGTERM or SIGINT stopped it (the worker should exit); else True.
    """
    if min_behind <= 0:
        return True
    try:
        return not isinstance(asyncio.run(until_signal(_catch_up(job, min_behind, say))), Stopped)
    except Exception as exc:  # the worker goes on with Faust, which handles the cause
        say(f"no catch-up ({type(exc).__name__}: {exc}); starting the consumer group")
        return True


async def _catch_up(job: BackfillJob, min_behind: int, say: Callable[[str], None]) -> None:
    n = await behind(job.kafka, job.redis)
    if n is None or n < min_behind:
        return
    client = connect_async(job.redis, retries=1)
    key = lease_key(job.redis.prefix)
    try:
        async with held(client, key) as ours:
            if not ours:
                say(
                    f"{n:,} messages behind; another worker or ioc backfill is catching up: "
                    "waiting for it"
                )
                waited = await wait_released(client, key)
                say(f"that catch-up ended after {waited:.0f} s")
                return
            say(f"{n:,} messages behind: catching up with {job.shards} helper process(es)")
            try:
                result = await backfill(job)
            except Exception as exc:
                say(f"catch-up stopped ({type(exc).__name__}: {exc}); starting the consumer group")
                return
        say(f"caught up: {result.line()}")
    finally:
        await client.aclose()
