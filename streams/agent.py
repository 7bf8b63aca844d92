"""The worker's KPI agent as a plain object: its body, its dead letters, its seek hook.

:class:`KpiAgent` holds what the agent needs (the batch processor, the dead-letter
topic, the consumer for high-water marks and seeks, the failure hook) and nothing of
Faust's app machinery, so tests drive it directly with a fake stream, topic and
consumer. :func:`streams.app.build_app` wires it into the Faust app: :meth:`KpiAgent.run`
is the agent, :meth:`KpiAgent.seek_to_state` the ``on_partitions_assigned`` hook.
"""

from __future__ import annotations

import asyncio
import logging
import operator
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from typing import Any, Final, Protocol

from faust.types import TP
from redis.asyncio import Redis

from ioc_monitor.config import KafkaSettings
from ioc_monitor.events import Rejection
from streams.dead_letters import DeadLetters, TopicSender
from streams.helper import HelperProcessor
from streams.processor import BATCH_MAX, BatchProcessor, Record

__all__ = ["BATCH_MAX", "BATCH_WITHIN_S", "KpiAgent"]

log = logging.getLogger(__name__)

# BATCH_MAX (streams.processor): the largest batch taken from the stream. Faust holds
# the stream while the agent works on a batch, so a batch is what it hands over in at
# most BATCH_WITHIN_S (about 8,000 messages at its 16,000/s here).
#: Longest wait to fill a batch, in seconds: bounds what a quiet stream adds to the
#: freshness (event → exported, goal p99 ≤ 1 s).
BATCH_WITHIN_S = 0.5


class PartitionConsumer(Protocol):
    """What the agent uses of Faust's consumer: high-water marks and seeks."""

    def highwater(self, tp: Any) -> int:
        """Next offset to be written to a topic partition (raises when not known)."""

    async def seek(self, tp: Any, offset: int) -> None:
        """Make ``offset`` the next offset read from a topic partition."""


#: The Kafka message of a Faust event (in C: one per message of a batch).
_MESSAGE: Final = operator.attrgetter("message")


class KpiAgent:
    """The KPI agent: batches from the stream → :class:`BatchProcessor` → Redis.

    Args:
        kafka: Source topic (``topic``) and dead-letter topic (``dlq_topic``) names.
        redis: Async Redis client of the state.
        prefix: Key prefix (``IOC_REDIS_PREFIX``).
        units: Ids of the unit registry.
        dlq: The dead-letter topic (a Faust topic with raw key and value).
        consumer: Returns the app's consumer, looked up at each use (Faust creates it
            when the app starts).
        batch_max: Largest batch. Default 10,000 messages.
        within: Longest wait to fill a batch. Default 0.5 s.
        on_failure: Called with the exception when the agent fails (an error that is
            not Redis being unavailable, which is retried), before it is raised again.
            Default ``None``: nothing is called.
        helper: Run the batch processor in a helper process
            (:class:`~streams.helper.HelperProcessor`). Default ``False``: in this one.

    Attributes:
        processor: The batch processor (its dead letters and high-water marks come from
            this agent).
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        redis: Redis,
        prefix: str,
        units: Collection[str],
        dlq: TopicSender,
        consumer: Callable[[], PartitionConsumer],
        *,
        batch_max: int = BATCH_MAX,
        within: float = BATCH_WITHIN_S,
        on_failure: Callable[[BaseException], None] | None = None,
        helper: bool = False,
    ) -> None:
        self._topic = kafka.topic
        self._dead_letters = DeadLetters(kafka.topic, kafka.dlq_topic, dlq)
        self._consumer = consumer
        self._batch_max = batch_max
        self._within = within
        self._on_failure = on_failure
        self._failure_reported = False  # on_failure is called once
        self.processor: BatchProcessor | HelperProcessor
        if helper:
            self.processor = HelperProcessor(units, self.dead_letter, self.highwater)
        else:
            self.processor = BatchProcessor(redis, prefix, units, self.dead_letter, self.highwater)
        self._stall_notes: set[asyncio.Task[None]] = set()

    async def run(self, stream: Any) -> AsyncIterator[None]:
        """The agent's body: apply each batch of the stream, yield once per batch.

        With the helper process, a batch is applied there while the next one is taken
        from the stream (at most one batch in flight: the next is handed over once the
        helper finished the last). Faust acknowledges a batch when the body yields, so
        its messages are held (one more reference each, acknowledged after the commit):
        Faust commits only acknowledged offsets, so Kafka's committed offsets never
        pass what Redis holds, as without the helper, and a restart or Faust's own seek
        to them skips nothing. (Holding only each partition's first message is not
        enough: Faust's commit tolerates a gap of one offset, and ignores a gap before
        a partition's first commit.) A batch that fails still fails the agent, at once.

        Args:
            stream: The Faust stream of the source topic (only ``take_events`` is used).

        Raises:
            Exception: Whatever failed (after ``on_failure`` was called with it).
        """
        in_flight: asyncio.Future[None] | None = None
        overlap = isinstance(self.processor, HelperProcessor)
        try:
            async for events in stream.take_events(self._batch_max, within=self._within):
                messages = list(map(_MESSAGE, events))
                records = [Record(m.partition, m.offset, m.key, m.value) for m in messages]
                if not overlap:
                    await self.processor.process(records)
                    yield None
                    continue
                if in_flight is not None:
                    await in_flight
                for m in messages:
                    m.incref()  # Faust's acknowledgement at the yield is not its last
                in_flight = asyncio.ensure_future(self._apply_then_ack(records, messages))
                in_flight.add_done_callback(self._failed_in_flight)
                yield None
            if in_flight is not None:
                await in_flight
        except Exception as exc:  # not Redis (retried inside): e.g. the DLQ refused
            self._report_failure(exc)
            raise
        finally:
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()

    async def _apply_then_ack(self, records: list[Record], held: Iterable[Any]) -> None:
        """Apply a batch, then give Faust the last acknowledgement of its messages."""
        await self.processor.process(records)
        consumer = self._consumer()
        for message in held:
            message.ack(consumer)

    def _failed_in_flight(self, done: asyncio.Future[None]) -> None:
        """A batch in flight failed: fail at once, not when the next batch arrives."""
        exc = None if done.cancelled() else done.exception()
        if exc is not None:
            self._report_failure(exc)

    def _report_failure(self, exc: BaseException) -> None:
        """Call ``on_failure`` with the agent's first failure (once, however it surfaced)."""
        if self._on_failure is not None and not self._failure_reported:
            self._failure_reported = True
            self._on_failure(exc)

    async def dead_letter(
        self, key: bytes | None, value: bytes, rejection: Rejection, partition: int, offset: int
    ) -> None:
        """Send a rejected message to the dead-letter topic and wait for the broker.

        See :class:`streams.dead_letters.DeadLetters` (its headers, and the cut of a
        message the topic refuses as too large).
        """
        await self._dead_letters(key, value, rejection, partition, offset)

    def highwater(self, partition: int) -> int | None:
        """High-water mark (next offset to be written) of a source partition, if known."""
        try:
            return int(self._consumer().highwater(TP(self._topic, partition)))
        except Exception:  # not known yet (no fetch for that partition so far)
            return None

    def partition_stalled(self, tp: Any, offset: int, reason: str) -> None:
        """Note in Redis that the consumer paused a source partition at ``offset``.

        The app's ``on_partition_stalled`` hook (called on the app's loop): a task runs
        :meth:`BatchProcessor.record_stall`; partitions of other topics are left alone.
        """
        if tp.topic != self._topic:
            return
        task = asyncio.ensure_future(self.processor.record_stall(tp.partition, offset, reason))
        self._stall_notes.add(task)
        task.add_done_callback(self._stall_notes.discard)

    async def seek_to_state(self, sender: Any, assigned: set[Any], **_: Any) -> None:
        """Start each assigned source partition after the last offset applied to Redis.

        Args:
            sender: The app sending the signal (unused).
            assigned: The assigned topic partitions (``topic``, ``partition``); those of
                other topics are left alone, as are partitions without stored state.
        """
        for tp in assigned:
            if tp.topic != self._topic:
                continue
            stored = await self.processor.stored_offset(tp.partition)
            if stored is not None:
                log.info("partition %d: resuming after offset %d from Redis", tp.partition, stored)
                await self._consumer().seek(tp, stored + 1)
