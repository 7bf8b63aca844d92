"""The Faust application: one agent consuming ``dossier-events`` in batches.

Built by :func:`build_app` when the worker starts; nothing happens at import time.
Faust is used for consumption, group membership and the dead-letter producer only:
no Faust tables (their window expiry runs on wall time), and no trust in Faust's
offset commits for correctness (the Redis state carries its own offsets, see
:mod:`streams.processor`).
"""

from __future__ import annotations

import logging
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import faust

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.events import Rejection
from ioc_monitor.redis.client import connect_async
from ioc_monitor.registry import UnitRegistry
from streams.fast_consumer import IocApp
from streams.processor import BatchProcessor, Record

__all__ = ["BATCH_MAX", "BATCH_WITHIN_S", "build_app"]

log = logging.getLogger(__name__)

#: Largest batch taken from the stream.
BATCH_MAX = 4000
#: Longest wait to fill a batch, in seconds.
BATCH_WITHIN_S = 0.2
#: Messages buffered per partition ahead of the agent: several batches, so that
#: fetching (paused above 80 %, resumed below 40 %) never starves a batch.
STREAM_BUFFER = 5 * BATCH_MAX
#: Largest request of the worker's producer (dead letters): above any broker's
#: ``message.max.bytes`` in use (1 MiB by default, 2 MiB on the local stack), so the
#: broker, not the client, decides what is too large.
PRODUCER_MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: A dead letter the dead-letter topic refuses as too large is sent again with only
#: this many bytes of its body (and 1 KiB of its key), header ``ioc-truncated``.
DLQ_TRUNCATED_BYTES = 64 * 1024


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


def _broker_options(kafka: KafkaSettings) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    ctx = None
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        ctx = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    if kafka.security_protocol.startswith("SASL"):
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        opts["broker_credentials"] = faust.SASLCredentials(
            username=kafka.sasl_username or "",
            password=password,
            mechanism=kafka.sasl_mechanism or "SCRAM-SHA-256",
            ssl_context=ctx,
        )
    elif ctx is not None:
        opts["broker_credentials"] = faust.SSLCredentials(ctx)
    return opts


def build_app(
    kafka: KafkaSettings,
    redis_settings: RedisSettings,
    units: UnitRegistry,
    batch_max: int = BATCH_MAX,
    within: float = BATCH_WITHIN_S,
    on_failure: Callable[[BaseException], None] | None = None,
) -> tuple[faust.App, BatchProcessor]:
    """Build the worker's Faust app.

    Args:
        kafka: Broker, topics and consumer group.
        redis_settings: Where the state lives.
        units: The unit registry.
        batch_max: Largest batch. Default 4000 messages.
        within: Longest wait to fill a batch. Default 0.2 s.
        on_failure: Called with the exception when the agent fails (an error that is
            not Redis being unavailable, which is retried). Faust would leave the
            worker running without its agent; ``ioc worker`` exits instead so that its
            supervisor restarts it (the state in Redis makes a restart lossless).
            Default ``None``: Faust's own handling.

    Returns:
        The app (run it with ``faust.Worker``) and its batch processor.
    """
    app = IocApp(
        kafka.group,
        broker=[f"kafka://{b.strip()}" for b in kafka.bootstrap.split(",")],
        store="memory://",
        # Faust wants a data directory even with memory tables; by default it makes
        # "<group>-data/" in the working directory. Keep it out of the checkout (Faust
        # creates only the last path component, so it sits directly in the temp dir).
        datadir=str(Path(tempfile.gettempdir()) / f"ioc-faust-{kafka.group}"),
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        topic_disable_leader=True,
        stream_buffer_maxsize=STREAM_BUFFER,
        broker_commit_every=batch_max,
        broker_commit_interval=2.0,
        producer_acks=-1,
        producer_max_request_size=PRODUCER_MAX_REQUEST_BYTES,
        **_broker_options(kafka),
    )
    source = app.topic(
        kafka.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    dlq = app.topic(kafka.dlq_topic, key_serializer="raw", value_serializer="raw")

    async def dead_letter(
        key: bytes | None, value: bytes, rejection: Rejection, partition: int, offset: int
    ) -> None:
        headers = [
            ("ioc-reject-reason", rejection.reason.encode()),
            ("ioc-reject-detail", rejection.detail.encode()),
            ("ioc-source", f"{kafka.topic}/{partition}/{offset}".encode()),
        ]
        try:
            await (await dlq.send(key=key, value=value, headers=headers))
        except Exception as exc:  # a message at the broker's size limit: cut, never stall
            if not _too_large(exc):
                raise
            log.warning(
                "dead letter %s/%d/%d (%d bytes) too large for %s; sending its first %d bytes",
                kafka.topic,
                partition,
                offset,
                len(value),
                kafka.dlq_topic,
                DLQ_TRUNCATED_BYTES,
            )
            headers.append(("ioc-truncated", str(len(value)).encode()))
            cut_key = key[:1024] if key is not None else None
            await (await dlq.send(key=cut_key, value=value[:DLQ_TRUNCATED_BYTES], headers=headers))

    def highwater(partition: int) -> int | None:
        try:
            tp = faust.types.TP(kafka.topic, partition)
            return int(app.consumer.highwater(tp))
        except Exception:  # not known yet (no fetch for that partition so far)
            return None

    processor = BatchProcessor(
        connect_async(redis_settings), redis_settings.prefix, units.ids, dead_letter, highwater
    )

    async def kpi_agent(stream: Any) -> AsyncIterator[None]:
        try:
            async for events in stream.take_events(batch_max, within=within):
                messages = [e.message for e in events]
                await processor.process(
                    [Record(m.partition, m.offset, m.key, m.value) for m in messages]
                )
                yield None
        except Exception as exc:  # not Redis (retried inside): e.g. the DLQ refused
            if on_failure is not None:
                on_failure(exc)
            raise

    app.agent(source, name="ioc-kpi")(kpi_agent)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def seek_to_state(sender: Any, assigned: set[Any], **_: Any) -> None:
        """Start each partition after the last offset applied to Redis."""
        for tp in assigned:
            if tp.topic != kafka.topic:
                continue
            stored = await processor.stored_offset(tp.partition)
            if stored is not None:
                log.info("partition %d: resuming after offset %d from Redis", tp.partition, stored)
                await app.consumer.seek(tp, stored + 1)

    return app, processor
