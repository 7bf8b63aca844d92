"""Rejected messages → the dead-letter topic, with their reason; the one sender of both paths.

:class:`DeadLetters` is what the batch processor calls for each rejected message, in
``ioc worker`` (through a Faust topic) and in ``ioc backfill`` (through an aiokafka
producer): the same headers, the same cut of a message the topic refuses as too large,
and the same wait for the broker's acknowledgement before the batch is committed
(at least once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Final, Protocol

from ioc_monitor.events import Rejection

__all__ = [
    "DLQ_TRUNCATED_BYTES",
    "PRODUCER_MAX_REQUEST_BYTES",
    "DeadLetters",
    "Headers",
    "TopicSender",
    "quiet_handled_sends",
]

log = logging.getLogger(__name__)

#: A dead letter the dead-letter topic refuses as too large is sent again with only
#: this many bytes of its body (and 1 KiB of its key), header ``ioc-truncated``.
DLQ_TRUNCATED_BYTES: Final = 64 * 1024
#: Largest request of a dead-letter producer (the worker's Faust producer, ``ioc
#: backfill``'s aiokafka one): above any broker's ``message.max.bytes`` in use (1 MiB
#: by default, 2 MiB on the local stack), so the broker, not the client, decides what
#: is too large.
PRODUCER_MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024
#: Bytes of the key kept in a truncated dead letter.
_DLQ_TRUNCATED_KEY_BYTES: Final = 1024

Headers = list[tuple[str, bytes]]


class TopicSender(Protocol):
    """The dead-letter topic: ``send``, whose result is awaited twice (queued, acknowledged)."""

    def send(
        self, *, key: bytes | None, value: bytes, headers: Headers
    ) -> Awaitable[Awaitable[Any]]:
        """Queue a message; the awaited result is the broker's acknowledgement."""


def quiet_handled_sends(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Event-loop exception handler: drop the "never retrieved" report of a too-large send.

    A dead letter over the broker's size limit fails, is logged once and is sent again
    cut (:class:`DeadLetters`); the producer may keep a second future of the failed
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


class DeadLetters:
    """Sends rejected messages of a source topic to its dead-letter topic.

    Args:
        topic: The source topic's name (for the ``ioc-source`` header).
        dlq_topic: The dead-letter topic's name (for the log).
        sender: The dead-letter topic.
    """

    def __init__(self, topic: str, dlq_topic: str, sender: TopicSender) -> None:
        self._topic = topic
        self._dlq_topic = dlq_topic
        self._sender = sender

    async def __call__(
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
            await (await self._sender.send(key=key, value=value, headers=headers))
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
                await self._sender.send(
                    key=cut_key, value=value[:DLQ_TRUNCATED_BYTES], headers=headers
                )
            )
