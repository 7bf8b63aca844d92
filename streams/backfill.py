"""``ioc backfill``: a topic's history up to now → Redis, exactly once, without Faust.

A backfill reads a bounded log: every partition of the source topic from after the
offset Redis holds for it (the start of the log on an empty store) up to the
partition's end offset when the backfill started, and then stops. It needs none of
what a consumer group gives a long-running worker (rebalances, committed offsets,
Faust's dispatch, which is most of the worker's CPU: ``docs/benchmarks.md``), so it
reads with a bare aiokafka consumer that is assigned every partition, and hands the
batches to the same :class:`~streams.processor.BatchProcessor` as the worker:

- **Shards.** The partitions are split over ``shards`` processors by their rank
  (partition ``p`` of ``P`` in sorted order → shard ``rank % shards``): helper processes
  (:mod:`streams.helper`, one per CPU core by default: this process only fetches and
  hands over)
  or, with ``shards=0``, one processor in this process. Partitions share no keys, so
  shards never meet in Redis.
- **One lane per partition** (:class:`_Lanes`). This process fetches and hands the
  next batches over while the helpers apply the last ones; a helper works on several
  partitions at once, so that it folds one while Redis commits another. A partition's
  next batch waits for its last (its state and offset follow from it), and its
  fetching pauses while two of its batches are waiting or being applied.
- **Exactly once, as the worker.** The offsets live in Redis, committed with the state
  by the same Lua script, which skips what is already applied: a backfill that is
  stopped and started again resumes where Redis is, and a worker running meanwhile on
  the same topic and prefix does no harm (whichever applies an offset first wins; the
  other skips it). Nothing is committed to Kafka.
- **Dead letters** go to ``IOC_KAFKA_DLQ_TOPIC`` with the worker's headers
  (:class:`~streams.dead_letters.DeadLetters`), acknowledged before the batch commits.
- **One at a time.** ``ioc backfill`` holds the prefix's catch-up lease
  (:mod:`streams.lease`) while it runs, and waits while a worker's catch-up holds it;
  a worker started meanwhile waits for it in turn, then joins its group.
- **Afterwards**, ``ioc worker`` starts each partition after the offset Redis holds
  (its ``on_partitions_assigned`` hook), so it carries on where the backfill stopped.

A batch that cannot be decoded (codec missing, bad CRC) stops the backfill with an
error naming the partition; what was applied before it stays applied.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Final

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.errors import IocError
from ioc_monitor.redis.client import connect_async
from streams.dead_letters import (
    PRODUCER_MAX_REQUEST_BYTES,
    DeadLetters,
    Headers,
    quiet_handled_sends,
)
from streams.helper import HelperProcessor
from streams.kafka_tls import aiokafka_options
from streams.lease import Stopped, held, lease_key, until_signal, wait_released
from streams.processor import BATCH_MAX, BatchProcessor, Record

__all__ = [
    "BackfillError",
    "BackfillJob",
    "BackfillResult",
    "backfill",
    "default_shards",
    "first_offset",
    "run_backfill",
]

log = logging.getLogger(__name__)

#: Longest wait of one fetch, in milliseconds.
_POLL_MS: Final = 500
#: Bytes fetched per partition per request (4 MiB: about 10,000 events).
_PARTITION_FETCH_BYTES: Final = 4 * 1024 * 1024


class BackfillError(IocError):
    """The backfill cannot run (no such topic) or stopped (an undecodable batch)."""


@dataclass
class BackfillResult:
    """What a backfill did.

    Attributes:
        partitions: Source partition → ``(first offset read, end offset)``; a partition
            with nothing to read has ``first == end``.
        read: Messages read from Kafka.
        applied: Messages applied to Redis (dead letters included).
        skipped: Messages Redis already held (applied earlier), skipped.
        seconds: Wall-clock seconds from the start to the last commit.
    """

    partitions: dict[int, tuple[int, int]] = field(default_factory=dict)
    read: int = 0
    applied: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Messages read per second."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    @property
    def total(self) -> int:
        """Messages to read: from the first offset to the end of every partition."""
        return sum(end - first for first, end in self.partitions.values())

    def progress_line(self) -> str:
        """``1,234 of 5,678 messages (21.7 %)``."""
        share = 100.0 * self.read / self.total if self.total else 100.0
        return f"{self.read:,} of {self.total:,} messages ({share:.1f} %)"

    def line(self) -> str:
        """The summary: messages read, partitions, time, rate, applied and skipped."""
        return (
            f"read {self.read:,} messages of {len(self.partitions)} partitions in "
            f"{self.seconds:.1f} s ({self.rate:,.0f}/s): {self.applied:,} applied, "
            f"{self.skipped:,} already in Redis"
        )


def default_shards(cpus: int | None) -> int:
    """Helper processes of a backfill by default: one per CPU with 2 or more, else none.

    The backfill's own process only fetches and hands over, about a tenth of the work.
    """
    n = cpus or 1
    return n if n >= 2 else 0


def first_offset(stored: int | None, begin: int) -> int:
    """The first offset of a partition not applied yet.

    Args:
        stored: The last offset Redis holds for it (``None``: none).
        begin: The partition's first offset still in the log.
    """
    return max(stored + 1 if stored is not None else 0, begin)


class _Producer:
    """The dead-letter topic as a :class:`~streams.dead_letters.TopicSender` (aiokafka)."""

    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def send(self, *, key: bytes | None, value: bytes, headers: Headers) -> Any:
        return await self._producer.send(self._topic, value=value, key=key, headers=headers)


@dataclass(frozen=True)
class BackfillJob:
    """What a backfill reads, where it writes, and how.

    Attributes:
        kafka: Broker, source and dead-letter topics (the consumer group is not used).
        redis: Where the state lives.
        units: Ids of the unit registry.
        shards: Helper processes the partitions are split over; 0: one processor in
            this process.
        batch_max: Largest batch handed to a shard, in messages. Default 10,000.
        progress: Called with the result so far after each batch is handed over.
            Default None.
    """

    kafka: KafkaSettings
    redis: RedisSettings
    units: Collection[str]
    shards: int
    batch_max: int = BATCH_MAX
    progress: Callable[[BackfillResult], None] | None = None


def run_backfill(job: BackfillJob, say: Callable[[str], None]) -> BackfillResult | Stopped:
    """Run :func:`backfill` in this process, holding the catch-up lease, until a signal.

    Checks the key layout, runs on uvloop with the worker's GC settings, waits while a
    worker's catch-up (or another ``ioc backfill``) holds the lease of the prefix
    (:mod:`streams.lease`), and stops cleanly on SIGTERM or SIGINT (helpers closed,
    lease released).

    Args:
        job: The backfill.
        say: Reports a wait for the lease, one line at a time (e.g. to stderr).

    Returns:
        What was applied, or :class:`~streams.lease.Stopped` when a signal stopped it.

    Raises:
        StoreError: Redis holds state of another key layout.
        BackfillError: See :func:`backfill`.
    """
    from streams.worker import check_layout, tune_gc, use_uvloop

    check_layout(job.redis)
    use_uvloop()
    tune_gc()

    return asyncio.run(until_signal(_leased(job, say)))


async def _leased(job: BackfillJob, say: Callable[[str], None]) -> BackfillResult:
    """:func:`backfill` once the lease of ``job``'s prefix is ours, holding it."""
    client = connect_async(job.redis, retries=1)
    key = lease_key(job.redis.prefix)
    try:
        while True:
            async with held(client, key) as ours:
                if ours:
                    return await backfill(job)
            say(f"a worker or another ioc backfill is catching up (lease {key}): waiting for it")
            waited = await wait_released(client, key)
            say(f"that catch-up ended after {waited:.0f} s; backfilling what is left")
    finally:
        await client.aclose()


async def backfill(job: BackfillJob) -> BackfillResult:
    """Apply the source topic up to its current end to Redis, then return.

    Sets the running loop's exception handler to
    :func:`~streams.dead_letters.quiet_handled_sends` (the loop is the backfill's own:
    ``ioc backfill``'s or the worker's catch-up's).

    Returns:
        What was read, applied and skipped, per partition and in total.

    Raises:
        BackfillError: The topic does not exist, or a batch cannot be decoded.
    """
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    start = time.perf_counter()
    asyncio.get_running_loop().set_exception_handler(quiet_handled_sends)
    kafka, redis, units = job.kafka, job.redis, job.units
    options = aiokafka_options(kafka)
    consumer = AIOKafkaConsumer(
        **options,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=_PARTITION_FETCH_BYTES,
        fetch_max_bytes=8 * _PARTITION_FETCH_BYTES,
    )
    producer = AIOKafkaProducer(**options, acks="all", max_request_size=PRODUCER_MAX_REQUEST_BYTES)
    await consumer.start()
    await producer.start()
    processors: list[BatchProcessor | HelperProcessor] = []
    try:
        if kafka.topic not in await consumer.topics():
            raise BackfillError(f"topic {kafka.topic} does not exist (IOC_KAFKA_TOPIC)")
        parts = sorted(await producer.partitions_for(kafka.topic))
        dead = DeadLetters(kafka.topic, kafka.dlq_topic, _Producer(producer, kafka.dlq_topic))

        def highwater(partition: int) -> int | None:
            mark: int | None = consumer.highwater(TopicPartition(kafka.topic, partition))
            return mark

        if job.shards > 0:
            processors = [HelperProcessor(units, dead, highwater) for _ in range(job.shards)]
        else:
            client = connect_async(redis)
            processors = [BatchProcessor(client, redis.prefix, units, dead, highwater)]
        shard_of = {p: processors[i % len(processors)] for i, p in enumerate(parts)}
        result = await _read_all(consumer, kafka.topic, parts, shard_of, job)
        result.applied = sum(p.applied for p in processors)
        result.skipped = sum(p.skipped for p in processors)
        result.seconds = time.perf_counter() - start
        return result
    finally:
        for processor in processors:
            if isinstance(processor, HelperProcessor):
                await processor.close()
        await consumer.stop()
        await producer.stop()


async def _read_all(
    consumer: Any,
    topic: str,
    parts: list[int],
    shard_of: dict[int, BatchProcessor | HelperProcessor],
    job: BackfillJob,
) -> BackfillResult:
    """Read every partition from after its stored offset to its end; apply by shard."""
    from aiokafka import TopicPartition

    tps = {p: TopicPartition(topic, p) for p in parts}
    consumer.assign(list(tps.values()))
    ends = await consumer.end_offsets(list(tps.values()))
    begins = await consumer.beginning_offsets(list(tps.values()))
    result = BackfillResult()
    pending: dict[int, int] = {}  # partition -> end offset, while there is more to read
    for p, tp in tps.items():
        stored = await shard_of[p].stored_offset(p)
        first = first_offset(stored, begins[tp])
        end = ends[tp]
        result.partitions[p] = (min(first, end), end)
        if first < end:
            consumer.seek(tp, first)
            pending[p] = end
            log.info("partition %d: offsets %d to %d", p, first, end - 1)
    consumer.pause(*(tp for p, tp in tps.items() if p not in pending))
    lanes = _Lanes(consumer, tps, pending, shard_of)
    try:
        while pending:
            try:
                fetched = await consumer.getmany(timeout_ms=_POLL_MS, max_records=job.batch_max)
            except Exception as exc:
                raise BackfillError(f"cannot read {topic}: {type(exc).__name__}: {exc}") from exc
            for tp, messages in fetched.items():
                end = pending.get(tp.partition)
                if end is None or not messages:
                    continue
                records = [Record(m.partition, m.offset, m.key, m.value) for m in messages]
                if records[-1].offset >= end:  # written after the backfill started
                    records = [r for r in records if r.offset < end]
                if not records or records[-1].offset >= end - 1:
                    lanes.finished(tp.partition)
                if records:
                    result.read += len(records)
                    lanes.hand_over(tp.partition, records)
            if not fetched:  # nothing more to fetch: a partition's end may be a gap
                for p in list(pending):
                    if await consumer.position(tps[p]) >= pending[p]:
                        lanes.finished(p)
            if job.progress is not None:
                job.progress(result)
            lanes.check()
        await lanes.drain()
    finally:
        lanes.cancel()
    return result


#: Batches of one partition handed over and not yet applied, at most; the partition's
#: fetching pauses at this many (one being applied, one waiting).
_DEPTH: Final = 2


class _Lanes:
    """One lane per partition: its batches applied in order, the lanes side by side.

    A partition's batch waits for the one before it (its state and stored offset follow
    from it), never for another partition's, so a helper folds one partition while
    Redis commits another. A partition with :data:`_DEPTH` batches in its lane is
    paused in the consumer until one is applied.
    """

    def __init__(
        self,
        consumer: Any,
        tps: dict[int, Any],
        pending: dict[int, int],
        shard_of: dict[int, BatchProcessor | HelperProcessor],
    ) -> None:
        self._consumer = consumer
        self._tps = tps
        self._pending = pending
        self._shard_of = shard_of
        self._last: dict[int, asyncio.Future[tuple[int, int]]] = {}  # partition -> last batch
        self._queued: dict[int, int] = {}  # partition -> batches in its lane

    def hand_over(self, partition: int, records: list[Record]) -> None:
        """Queue a batch in its partition's lane."""
        previous = self._last.get(partition)
        self._last[partition] = asyncio.ensure_future(self._apply(partition, previous, records))
        self._queued[partition] = self._queued.get(partition, 0) + 1
        if self._queued[partition] >= _DEPTH:
            self._consumer.pause(self._tps[partition])

    async def _apply(
        self,
        partition: int,
        previous: asyncio.Future[tuple[int, int]] | None,
        records: list[Record],
    ) -> tuple[int, int]:
        try:
            if previous is not None:
                await previous
            return await self._shard_of[partition].process(records)
        finally:
            self._queued[partition] -= 1
            if partition in self._pending and self._queued[partition] < _DEPTH:
                self._consumer.resume(self._tps[partition])

    def finished(self, partition: int) -> None:
        """Stop reading a partition that reached its end offset."""
        del self._pending[partition]
        self._consumer.pause(self._tps[partition])
        log.info("partition %d: read to its end", partition)

    def check(self) -> None:
        """Raise the error of a batch that failed (the backfill fails at once)."""
        for last in self._last.values():
            if last.done():
                last.result()

    async def drain(self) -> None:
        """Wait until every lane is applied."""
        for partition in list(self._last):
            await self._last.pop(partition)

    def cancel(self) -> None:
        """Cancel what is still queued (after a failure)."""
        for last in self._last.values():
            last.cancel()
