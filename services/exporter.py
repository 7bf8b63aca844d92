"""The Prometheus exporter: reads Redis at scrape time and serves METRICS.md.

Each ``GET /metrics`` reads Redis incrementally (:class:`ioc_monitor.redis.cache.CachedReader`:
only the units that changed or whose figures stopped holding at the clock) and renders
with each unit's text cached (:class:`ioc_monitor.exposition.TextRenderer`), so a scrape
of 3,321 units costs what changed, not what exists; the result is the same as a full read
rendered by prometheus-client (both tested).

Sharding as in kube-state-metrics: ``IOC_EXPORTER_SHARD=k/n`` serves the units whose
:func:`shard_of` is ``k`` (their KPI, ``_info`` and target series) and, on shard 0 only,
the pipeline series, so the union of the ``n`` shards is one unsharded exporter's
exposition.

Nothing touches Redis at start-up or registration but the layout check. When Redis cannot
be read, a scrape still answers, with ``ioc_exporter_redis_up 0`` and no KPI series, and
the process keeps running. The HTTP server answers ``GET``/``HEAD`` of ``/metrics`` (and
``/``) in the text format 0.0.4, gzip-compressed when the client accepts it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final, Literal

from prometheus_client.core import GaugeMetricFamily
from redis import Redis
from redis.exceptions import RedisError

from ioc_monitor import catalogue as c
from ioc_monitor.config import ExporterSettings, RedisSettings
from ioc_monitor.errors import StoreError
from ioc_monitor.exposition import TextRenderer, families_text
from ioc_monitor.redis.cache import CachedReader
from ioc_monitor.redis.client import connect
from ioc_monitor.redis.layout import check_layout
from ioc_monitor.registry import UnitRegistry

__all__ = ["Exporter", "serve", "shard_of"]

log = logging.getLogger(__name__)

#: Content type of the Prometheus text format.
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


def shard_of(unit_id: str, shards: int) -> int:
    """The shard (``0 ≤ k < shards``) serving a unit: BLAKE2b of its id, stable everywhere."""
    digest = hashlib.blake2b(unit_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


class Exporter:
    """One exporter's scrape: incremental read, cached rendering, health gauges.

    Expected tail of every scrape::

        ioc_exporter_redis_up 1.0
        ioc_exporter_scrape_duration_seconds 0.004

    Redis unreachable, or holding state of another key layout (logged, naming
    ``ioc recover``): only those two, with ``ioc_exporter_redis_up 0.0``.

    Args:
        client: Sync Redis client.
        prefix: Key prefix.
        units: The unit registry.
        clock: ``wall`` or ``event``.
        shard: ``(k, n)``: serve shard ``k`` of ``n``. Default ``(0, 1)``, everything.
    """

    def __init__(
        self,
        client: Redis,
        prefix: str,
        units: UnitRegistry,
        clock: Literal["wall", "event"],
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        k, n = shard
        mine = UnitRegistry([u for u in units if n == 1 or shard_of(u.id, n) == k])
        self._client = client
        self._prefix = prefix
        self._reader = CachedReader(client, prefix, clock, None if n == 1 else mine.ids)
        self._renderer = TextRenderer(mine)
        self._pipeline = k == 0
        self._lock = threading.Lock()

    def scrape(self) -> bytes:
        """The exposition now (one scrape at a time)."""
        with self._lock:
            return self._scrape()

    def _scrape(self) -> bytes:
        start = time.perf_counter()
        up = GaugeMetricFamily(c.EXPORTER_REDIS_UP.name, c.EXPORTER_REDIS_UP.help)
        took = GaugeMetricFamily(c.EXPORTER_SCRAPE_SECONDS.name, c.EXPORTER_SCRAPE_SECONDS.help)
        try:
            check_layout(self._client, self._prefix)
            snap = self._reader.snapshot()
        except RedisError as exc:
            log.warning("scrape: cannot read Redis: %s: %s", type(exc).__name__, exc)
            snap = None
        except StoreError as exc:  # state of another key layout: no numbers rather than wrong
            log.error("scrape: %s", exc)
            snap = None
        up.add_metric([], 0.0 if snap is None else 1.0)
        if snap is None:
            took.add_metric([], time.perf_counter() - start)
            return families_text([up, took])
        body = self._renderer.render(snap, pipeline=self._pipeline)
        took.add_metric([], time.perf_counter() - start)
        return body + families_text([up, took])


class _Handler(BaseHTTPRequestHandler):
    """``GET``/``HEAD`` of ``/metrics`` or ``/``; anything else 404/405."""

    exporter: Exporter  # set on the server's subclass
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Serve the exposition."""
        self._answer(head=False)

    def do_HEAD(self) -> None:
        """Serve the exposition's headers."""
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404)
            return
        body = self.exporter.scrape()
        gzipped = "gzip" in self.headers.get("Accept-Encoding", "")
        if gzipped:
            body = gzip.compress(body, compresslevel=1)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Say nothing per request (as prometheus-client's server)."""


def serve(settings: ExporterSettings, redis_settings: RedisSettings, units: UnitRegistry) -> None:
    """Serve ``/metrics`` until SIGTERM or SIGINT.

    Args:
        settings: Bind address, port, clock and shard.
        redis_settings: Where the state lives.
        units: The unit registry.

    Raises:
        StoreError: Redis holds state of another key layout (``ioc recover`` rebuilds).
    """
    client = connect(redis_settings, retries=1)
    with contextlib.suppress(RedisError):  # unreachable now: every scrape checks again
        check_layout(client, redis_settings.prefix)  # refuse another layout at start-up
    exporter = Exporter(client, redis_settings.prefix, units, settings.clock, settings.shard_k_n)
    handler = type("Handler", (_Handler,), {"exporter": exporter})
    server = ThreadingHTTPServer((settings.addr, settings.port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    k, n = settings.shard_k_n
    log.warning(
        "exporter on http://%s:%d/metrics (clock=%s, shard %d/%d)",
        settings.addr,
        settings.port,
        settings.clock,
        k,
        n,
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
        client.close()
