"""The Prometheus exporter: reads Redis at scrape time and serves METRICS.md.

Nothing touches Redis at start-up or registration. When Redis cannot be read, a
scrape still answers, with ``ioc_exporter_redis_up 0`` and no KPI series, and the
process keeps running.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from typing import Literal

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError

from ioc_monitor import catalogue as c
from ioc_monitor.collector import render_snapshot
from ioc_monitor.config import ExporterSettings, RedisSettings
from ioc_monitor.errors import StoreError
from ioc_monitor.redis.client import connect
from ioc_monitor.redis.layout import check_layout
from ioc_monitor.redis.reader import read_snapshot
from ioc_monitor.registry import UnitRegistry

__all__ = ["RedisCollector", "build_registry", "serve"]

log = logging.getLogger(__name__)


class RedisCollector(Collector):
    """Collector reading a fresh snapshot from Redis at each scrape.

    Expected exposition, Redis reachable (abridged; every METRICS.md family as
    rendered by :func:`ioc_monitor.collector.render_snapshot`, then)::

        ioc_exporter_redis_up 1.0
        ioc_exporter_scrape_duration_seconds 0.004

    Redis unreachable, or holding state of another key layout (logged, naming
    ``ioc recover``)::

        ioc_exporter_redis_up 0.0
        ioc_exporter_scrape_duration_seconds 0.002

    Args:
        client: Sync Redis client.
        prefix: Key prefix.
        units: The unit registry (labels, and the bound on series).
        clock: ``wall`` or ``event``.
    """

    def __init__(
        self, client: Redis, prefix: str, units: UnitRegistry, clock: Literal["wall", "event"]
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._units = units
        self._clock = clock

    def describe(self) -> Iterator[Metric]:
        """Return nothing, so registration never reads Redis."""
        return iter(())

    def collect(self) -> Iterator[Metric]:
        """Read Redis and yield every family; on a Redis error, only the health gauges."""
        start = time.perf_counter()
        up = GaugeMetricFamily(c.EXPORTER_REDIS_UP.name, c.EXPORTER_REDIS_UP.help)
        try:
            check_layout(self._client, self._prefix)
            families = render_snapshot(
                read_snapshot(self._client, self._prefix, self._clock), self._units
            )
            up.add_metric([], 1.0)
        except RedisError as exc:
            log.warning("scrape: cannot read Redis: %s: %s", type(exc).__name__, exc)
            families = []
            up.add_metric([], 0.0)
        except StoreError as exc:  # state of another key layout: no numbers rather than wrong ones
            log.error("scrape: %s", exc)
            families = []
            up.add_metric([], 0.0)
        yield from families
        yield up
        took = GaugeMetricFamily(c.EXPORTER_SCRAPE_SECONDS.name, c.EXPORTER_SCRAPE_SECONDS.help)
        took.add_metric([], time.perf_counter() - start)
        yield took


def build_registry(
    redis_settings: RedisSettings, units: UnitRegistry, clock: Literal["wall", "event"]
) -> CollectorRegistry:
    """A registry holding only the Redis collector (no process/platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    client = connect(redis_settings, retries=1)
    registry.register(RedisCollector(client, redis_settings.prefix, units, clock))
    return registry


def serve(settings: ExporterSettings, redis_settings: RedisSettings, units: UnitRegistry) -> None:
    """Serve ``/metrics`` until SIGTERM or SIGINT.

    Args:
        settings: Bind address, port and clock.
        redis_settings: Where the state lives.
        units: The unit registry.

    Raises:
        StoreError: Redis holds state of another key layout (``ioc recover`` rebuilds).
    """
    client = connect(redis_settings, retries=1)
    try:
        check_layout(client, redis_settings.prefix)  # refuse another layout at start-up
    except RedisError:
        pass  # unreachable now: every scrape checks again
    finally:
        client.close()
    registry = build_registry(redis_settings, units, settings.clock)
    server, thread = start_http_server(settings.port, settings.addr, registry=registry)
    log.warning(
        "exporter on http://%s:%d/metrics (clock=%s)", settings.addr, settings.port, settings.clock
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        thread.join(timeout=5)
