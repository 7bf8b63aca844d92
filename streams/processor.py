"""The batch processor behind the worker's agent: Kafka batch → Redis, exactly once.

Kept apart from the Faust wiring so it can be driven by any consumer: it takes
``(partition, offset, key, value)`` records, groups them by partition, and for each
partition prepares, dead-letters the rejected messages and commits (see
:mod:`ioc_monitor.redis.writer`). Redis errors never lose a message: the batch is
retried with backoff until Redis answers, which pauses consumption meanwhile.

A partition the consumer paused at a batch it cannot decode is noted in its stats hash
(``stalled`` = offset, ``stalled_reason``; :meth:`BatchProcessor.record_stall`) for the
exporter's ``ioc_consumer_partition_stalled``; the note goes once a batch of that
partition reaches the offset (also after a restart: it is read back on assignment).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Container, Sequence
from functools import partial
from typing import NamedTuple, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ioc_monitor.events import Rejection
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.redis.writer import commit, prepare

__all__ = ["BATCH_MAX", "BatchProcessor", "DeadLetterSink", "Record"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def _redis_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is a Redis failure to retry.

    A :class:`RedisError`, or an ``AttributeError``/``TypeError`` raised inside
    redis-py itself: its asyncio cluster client can meet a connection another task
    just closed (``'NoneType' object has no attribute 'writelines'``, redis-py
    issues 3546 and 4287), which is a lost connection, not a bug of ours.
    """
    if isinstance(exc, RedisError):
        return True
    if not isinstance(exc, AttributeError | TypeError):
        return False
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and f"{os.sep}redis{os.sep}" in last


#: Largest batch handed to the processor, in messages, by the worker's agent and by
#: ``ioc backfill``: the larger the batch, the fewer Redis round trips and key updates
#: per message.
BATCH_MAX = 10_000
#: Fields of a partition's stats hash that note a stall (see ``record_stall``).
_STALL_FIELDS = ("stalled", "stalled_reason")
#: Longest ``stalled_reason`` kept, in characters.
_REASON_MAX = 500

#: ``(key, value, rejection, partition, offset)`` → awaitable delivery.
DeadLetterSink = Callable[[bytes | None, bytes, Rejection, int, int], Awaitable[None]]
#: Returns the high-water mark (next offset to be written) of a partition, if known.
HighWater = Callable[[int], int | None]


class Record(NamedTuple):
    """One consumed Kafka record (a tuple: cheap to build once per message)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes


class BatchProcessor:
    """Applies consumed batches to Redis.

    Args:
        redis: Async Redis client.
        prefix: Key prefix (``IOC_REDIS_PREFIX``).
        units: Ids of the unit registry.
        dead_letter: Sends a rejected message to the dead-letter topic and waits for
            the broker's acknowledgement (at-least-once: before the state commit).
        highwater: Partition high-water mark, for the consumer-lag figure.
        retry_cap: Longest pause between retries while Redis fails, in seconds.
            Default 5.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        units: Container[str],
        dead_letter: DeadLetterSink,
        highwater: HighWater,
        retry_cap: float = 5.0,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._units = units
        self._dead_letter = dead_letter
        self._highwater = highwater
        self._retry_cap = retry_cap
        self._registered: set[int] = set()
        self._stalls: dict[int, int] = {}  # partition -> offset it is stalled at
        self.applied = 0
        self.skipped = 0

    async def stored_offset(self, partition: int) -> int | None:
        """Return the last offset applied for a partition, if any.

        Called on partition assignment: while Redis fails it retries with backoff
        (the partition waits) instead of failing the rebalance, which would stop the
        worker. A stall noted for the partition is read back too (see
        :meth:`record_stall`), so that the batch that gets past it clears it.
        """
        keys = PartitionKeys(self._prefix, partition)

        async def read() -> int | None:
            raw = await self._redis.get(keys.offset)
            stalled = await self._redis.hget(keys.stats, "stalled")
            if stalled is not None:
                self._stalls[partition] = int(stalled)
            return int(raw) if raw is not None else None

        return await self._until_redis_answers(
            read, "partition %d waits for its stored offset, retrying", partition
        )

    async def process(self, records: Sequence[Record]) -> tuple[int, int]:
        """Apply a batch (any mix of partitions, each in offset order).

        Partitions are independent (their keys share nothing), so their updates run
        concurrently: one partition's Redis round trips overlap another's folding.

        Returns:
            Messages of this batch applied, and skipped (Redis held them already).
        """
        groups: dict[int, list[Record]] = {}
        for rec in records:
            groups.setdefault(rec.partition, []).append(rec)
        counts = await asyncio.gather(
            *(
                self._until_redis_answers(partial(self._apply, p, recs), "retrying partition %d", p)
                for p, recs in groups.items()
            )
        )
        if self._stalls:
            for p, recs in groups.items():
                clear = partial(self._clear_stall, p, recs[-1].offset)
                await self._until_redis_answers(clear, "partition %d: clearing its stall", p)
        return sum(a for a, _ in counts), sum(k for _, k in counts)

    async def record_stall(self, partition: int, offset: int, reason: str) -> None:
        """Note that the consumer paused ``partition`` at ``offset`` (undecodable batch).

        Sets ``stalled`` (the offset) and ``stalled_reason`` in the partition's stats
        hash and lists the partition in ``parts``, so the exporter sees it even before
        its first batch; retried until Redis answers. The note is removed by the first
        batch of the partition that reaches ``offset``.

        Args:
            partition: Source partition.
            offset: First offset that could not be decoded (the paused position).
            reason: The error, one line.
        """
        self._stalls[partition] = offset
        keys = PartitionKeys(self._prefix, partition)
        fields = {"stalled": str(offset), "stalled_reason": reason[:_REASON_MAX]}

        async def write() -> None:
            if self._stalls.get(partition) != offset:
                return  # moved on meanwhile
            await self._redis.sadd(global_key(self._prefix, "parts"), partition)
            await self._redis.hset(keys.stats, mapping=fields)  # type: ignore[arg-type]
            self._registered.add(partition)

        await self._until_redis_answers(write, "partition %d: noting its stall", partition)

    async def _clear_stall(self, partition: int, last_offset: int) -> None:
        stalled = self._stalls.get(partition)
        if stalled is not None and last_offset >= stalled:
            await self._redis.hdel(PartitionKeys(self._prefix, partition).stats, *_STALL_FIELDS)
            del self._stalls[partition]

    async def _until_redis_answers(
        self, op: Callable[[], Awaitable[_T]], what: str, partition: int
    ) -> _T:
        """Run ``op`` until Redis answers: backoff from 0.1 s doubling up to ``retry_cap``.

        Only Redis failures (:func:`_redis_fault`) are retried (consumption pauses
        meanwhile); others propagate.
        Each retry logs ``Redis unavailable (<error>); <what % partition> in <delay>s``.
        """
        delay = 0.1
        while True:
            try:
                return await op()
            except (RedisError, AttributeError, TypeError) as exc:
                if not _redis_fault(exc):
                    raise
                log.warning(
                    "Redis unavailable (%s); %s in %.1fs",
                    type(exc).__name__,
                    what % partition,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_cap)

    async def _apply(self, partition: int, recs: list[Record]) -> tuple[int, int]:
        """Apply one partition's records; returns how many were applied and skipped."""
        keys = PartitionKeys(self._prefix, partition)
        if partition not in self._registered:
            await self._redis.sadd(global_key(self._prefix, "parts"), partition)
            self._registered.add(partition)
        messages = [(r.offset, r.value) for r in recs]
        while True:
            prep = await prepare(self._redis, keys, messages, self._units)
            if prep is None:
                self.skipped += len(recs)
                return 0, len(recs)
            if prep.dead_letters:
                key_of = {r.offset: r.key for r in recs}
                for offset, value, rejection in prep.dead_letters:
                    await self._dead_letter(key_of[offset], value, rejection, partition, offset)
            hw = self._highwater(partition)
            extra = {"wall": repr(time.time())}
            if hw is not None:
                extra["lag"] = str(max(hw - prep.last_offset - 1, 0))
            if await commit(self._redis, prep, extra):
                self.applied += len(recs) - prep.skipped
                self.skipped += prep.skipped
                return len(recs) - prep.skipped, prep.skipped
            log.info("partition %d moved on under us; preparing again", partition)
