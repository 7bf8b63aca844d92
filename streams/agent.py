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
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from typing import Any, Final, Protocol

from faust.types import TP
from redis.asyncio import Redis

from ioc_monitor.config import KafkaSettings
from ioc_monitor.events import Rejection
from streams.helper import HelperProcessor
from streams.processor import BatchProcessor, Record

__all__ = ["BATCH_MAX", "BATCH_WITHIN_S", "DLQ_TRUNCATED_BYTES", "KpiAgent", "quiet_handled_sends"]

log = logging.getLogger(__name__)

#: Largest batch taken from the stream, in messages. Faust holds the stream while the
#: agent works on a batch, so a batch is what it hands over in at most
#: :data:`BATCH_WITHIN_S` (about 8,000 messages at its 16,000/s here): the larger the batch,
#: the fewer Redis round trips and key updates per message.
BATCH_MAX = 10_000
#: Longest wait to fill a batch, in seconds: bounds what a quiet stream adds to the
#: freshness (event → exported, goal p99 ≤ 1 s).
BATCH_WITHIN_S = 0.5
#: A dead letter the dead-letter topic refuses as too large is sent again with only
#: this many bytes of its body (and 1 KiB of its key), header ``ioc-truncated``.
DLQ_TRUNCATED_BYTES = 64 * 1024
#: Bytes of the key kept in a truncated dead letter.
_DLQ_TRUNCATED_KEY_BYTES = 1024

Headers = list[tuple[str, bytes]]


class TopicSender(Protocol):
    """What the agent uses of a Faust topic: ``send``, whose result is awaited twice."""

    def send(
        self, *, key: bytes | None, value: bytes, headers: Headers
    ) -> Awaitable[Awaitable[Any]]:
        """Queue a message; the awaited result is the broker's acknowledgement."""


class PartitionConsumer(Protocol):
    """What the agent uses of Faust's consumer: high-water marks and seeks."""

    def highwater(self, tp: Any) -> int:
        """Next offset to be written to a topic partition (raises when not known)."""

    async def seek(self, tp: Any, offset: int) -> None:
        """Make ``offset`` the next offset read from a topic partition."""


def quiet_handled_sends(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Event-loop exception handler: drop the "never retrieved" report of a too-large send.

    A dead letter over the broker's size limit fails, is logged once and is sent again
    cut (:meth:`KpiAgent.dead_letter`); Faust may keep a second future of the failed
    send that nobody awaits, which asyncio would report with a traceback when it is
    garbage-collected. Every other report goes to the loop's default handler.

    Args:
        loop: The event loop.
        context: asyncio's exception context (``message``, ``exception``, ...).
    """
    message = str(context.get("message", ""))
    if message.endswith("exception was never retrieved") and _too_large(context.get("exception")):
        log.debug("a too-large dead letter's unawaited future (already handled)")
        return
    loop.default_exception_handler(context)


def _too_large(exc: BaseException | None) -> bool:
    """Tell whether a send failed because the record is too large (client or broker)."""
    from aiokafka.errors import (
        MessageSizeTooLargeError,
        RecordListTooLargeError,
        RecordTooLargeError,
    )

    while exc is not None:
        if isinstance(
            exc, MessageSizeTooLargeError | RecordListTooLargeError | RecordTooLargeError
        ):
            return True
        exc = exc.__cause__
    return False


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
        self._dlq_topic = kafka.dlq_topic
        self._dlq = dlq
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

        Headers ``ioc-reject-reason``, ``ioc-reject-detail`` and ``ioc-source``
        (``topic/partition/offset``). A message the topic refuses as too large is sent
        again cut to :data:`DLQ_TRUNCATED_BYTES` (key to 1 KiB) with header
        ``ioc-truncated`` (the original size in bytes): a dead letter never stalls.

        Raises:
            Exception: The send failed for another reason than the size.
        """
        headers: Headers = [
            ("ioc-reject-reason", rejection.reason.encode()),
            ("ioc-reject-detail", rejection.detail.encode()),
            ("ioc-source", f"{self._topic}/{partition}/{offset}".encode()),
        ]
        try:
            await (await self._dlq.send(key=key, value=value, headers=headers))
        except Exception as exc:  # a message at the broker's size limit: cut, never stall
            if not _too_large(exc):
                raise
            log.warning(
                "dead letter %s/%d/%d (%d bytes) too large for %s; sending its first %d bytes",
                self._topic,
                partition,
                offset,
                len(value),
                self._dlq_topic,
                DLQ_TRUNCATED_BYTES,
            )
            headers.append(("ioc-truncated", str(len(value)).encode()))
            cut_key = key[:_DLQ_TRUNCATED_KEY_BYTES] if key is not None else None
            await (
                await self._dlq.send(
                    key=cut_key, value=value[:DLQ_TRUNCATED_BYTES], headers=headers
                )
            )

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
