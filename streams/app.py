"""The Faust application: one agent consuming ``dossier-events`` in batches.

Built by :func:`build_app` when the worker starts; nothing happens at import time.
Faust is used for consumption, group membership and the dead-letter producer only:
no Faust tables (their window expiry runs on wall time), and no trust in Faust's
offset commits for correctness (the Redis state carries its own offsets, see
:mod:`streams.processor`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.redis.client import connect_async
from ioc_monitor.registry import UnitRegistry
from streams.agent import BATCH_MAX, BATCH_WITHIN_S, KpiAgent
from streams.dead_letters import PRODUCER_MAX_REQUEST_BYTES
from streams.fast_consumer import IocApp
from streams.helper import HelperProcessor
from streams.kafka_tls import ssl_context
from streams.lean import LeanMonitor, RawSchema
from streams.processor import BatchProcessor

__all__ = ["BATCH_MAX", "BATCH_WITHIN_S", "build_app"]

#: Milliseconds between the consumer's metadata refreshes (new topics, partitions).
METADATA_MAX_AGE_MS = 30_000

#: Messages buffered per partition ahead of the agent: several batches, so that
#: fetching (paused above 80 %, resumed below 40 %) never starves a batch.
STREAM_BUFFER = 5 * BATCH_MAX


def _broker_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Faust's ``broker_credentials`` of the settings (none for ``PLAINTEXT``).

    With ``SSL``/``SASL_SSL`` the context verifies the brokers' certificates (against
    ``IOC_KAFKA_SSL_CAFILE``, default the system's CAs) and host names, and presents the
    client certificate of ``IOC_KAFKA_SSL_CERTFILE``/``IOC_KAFKA_SSL_KEYFILE`` if set.
    """
    opts: dict[str, Any] = {}
    ctx = ssl_context(kafka)
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
    helper: bool = False,
) -> tuple[faust.App, BatchProcessor | HelperProcessor]:
    """Build the worker's Faust app.

    The agent is a :class:`~streams.agent.KpiAgent`: its ``run`` is the Faust agent
    ``ioc-kpi`` of the source topic, its ``seek_to_state`` the app's
    ``on_partitions_assigned`` hook, its ``partition_stalled`` the consumer's hook for a
    partition paused at a batch it cannot decode.

    Args:
        kafka: Broker, topics and consumer group.
        redis_settings: Where the state lives.
        units: The unit registry.
        batch_max: Largest batch. Default 10,000 messages.
        within: Longest wait to fill a batch. Default 0.5 s.
        on_failure: Called with the exception when the agent fails (an error that is
            not Redis being unavailable, which is retried). Faust would leave the
            worker running without its agent; ``ioc worker`` exits instead so that its
            supervisor restarts it (the state in Redis makes a restart lossless). Also
            called when the consumer's fetch loop fails (the worker would stay up
            without consuming). Default ``None``: Faust's own handling.
        helper: Run the batch processor in a helper process (:mod:`streams.helper`).
            Default ``False``.

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
        # A worker started before its topic exists (or before partitions are added)
        # sees it at the next metadata refresh: every 30 s instead of Faust's 5 min.
        consumer_metadata_max_age_ms=METADATA_MAX_AGE_MS,
        topic_disable_leader=True,
        stream_buffer_maxsize=STREAM_BUFFER,
        broker_commit_every=batch_max,
        broker_commit_interval=2.0,
        producer_acks=-1,
        producer_max_request_size=PRODUCER_MAX_REQUEST_BYTES,
        monitor=LeanMonitor(),  # no per-message counters (streams.lean)
        **_broker_options(kafka),
    )
    source = app.topic(kafka.topic, schema=RawSchema())  # the bytes as they came
    dlq = app.topic(kafka.dlq_topic, key_serializer="raw", value_serializer="raw")
    agent = KpiAgent(
        kafka,
        connect_async(redis_settings),
        redis_settings.prefix,
        units.ids,
        dlq,
        lambda: app.consumer,
        batch_max=batch_max,
        within=within,
        on_failure=on_failure,
        helper=helper,
    )
    app.agent(source, name="ioc-kpi")(agent.run)
    app.on_partitions_assigned.connect(agent.seek_to_state)  # type: ignore[arg-type]
    app.on_partition_stalled = agent.partition_stalled
    app.on_consumer_failure = on_failure
    return app, agent.processor
