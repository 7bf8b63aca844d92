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
from collections.abc import AsyncIterator
from typing import Any

import faust
from redis.asyncio import Redis

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.events import Rejection
from ioc_monitor.registry import UnitRegistry
from streams.processor import BatchProcessor, Record

__all__ = ["BATCH_MAX", "BATCH_WITHIN_S", "build_app", "redis_async"]

log = logging.getLogger(__name__)

#: Largest batch taken from the stream.
BATCH_MAX = 2000
#: Longest wait to fill a batch, in seconds.
BATCH_WITHIN_S = 0.2


def redis_async(settings: RedisSettings) -> Redis:
    """Open an async Redis client with retries (exponential backoff)."""
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    password = settings.password.get_secret_value() if settings.password else None
    return Redis.from_url(
        settings.url,
        username=settings.username,
        password=password,
        socket_timeout=settings.socket_timeout,
        socket_connect_timeout=settings.socket_timeout,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


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
) -> tuple[faust.App, BatchProcessor]:
    """Build the worker's Faust app.

    Args:
        kafka: Broker, topics and consumer group.
        redis_settings: Where the state lives.
        units: The unit registry.
        batch_max: Largest batch. Default 2000 messages.
        within: Longest wait to fill a batch. Default 0.2 s.

    Returns:
        The app (run it with ``faust.Worker``) and its batch processor.
    """
    app = faust.App(
        kafka.group,
        broker=[f"kafka://{b.strip()}" for b in kafka.bootstrap.split(",")],
        store="memory://",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        topic_disable_leader=True,
        broker_commit_every=batch_max,
        broker_commit_interval=2.0,
        producer_acks=-1,
        **_broker_options(kafka),
    )
    source = app.topic(
        kafka.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    dlq = app.topic(kafka.dlq_topic, key_serializer="raw", value_serializer="raw")

    async def dead_letter(
        key: bytes | None, value: bytes, rejection: Rejection, partition: int, offset: int
    ) -> None:
        fut = await dlq.send(
            key=key,
            value=value,
            headers=[
                ("ioc-reject-reason", rejection.reason.encode()),
                ("ioc-reject-detail", rejection.detail.encode()),
                ("ioc-source", f"{kafka.topic}/{partition}/{offset}".encode()),
            ],
        )
        await fut

    def highwater(partition: int) -> int | None:
        try:
            tp = faust.types.TP(kafka.topic, partition)
            return int(app.consumer.highwater(tp))
        except Exception:  # not known yet (no fetch for that partition so far)
            return None

    processor = BatchProcessor(
        redis_async(redis_settings), redis_settings.prefix, units.ids, dead_letter, highwater
    )

    async def kpi_agent(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(batch_max, within=within):
            await processor.process(
                [
                    Record(e.message.partition, e.message.offset, e.message.key, e.message.value)
                    for e in events
                ]
            )
            yield None

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
