"""Run the wall with uvicorn: build the clients from the settings and serve until stopped.

Nothing is contacted at start-up (Prometheus, Alertmanager or Redis may come later: the
pages show the stale banner meanwhile); a port already in use stops the command with
one line.
"""

from __future__ import annotations

import errno
import logging
import socket

import uvicorn

from ioc_monitor.config import RedisSettings
from ioc_monitor.errors import ConfigError
from ioc_monitor.redis.client import connect
from services.wall.app import Wall, build_app
from services.wall.settings import WallSettings
from services.wall.upstream import AlertmanagerClient, PrometheusClient

__all__ = ["make_wall", "serve"]

log = logging.getLogger(__name__)


def make_wall(settings: WallSettings, redis_settings: RedisSettings) -> Wall:
    """The clients of the wall, from its settings (nothing is connected yet)."""
    timeout = settings.query_timeout_s
    return Wall(
        settings=settings,
        prometheus=PrometheusClient(settings.prometheus_url, settings.prometheus_token, timeout),
        alertmanager=AlertmanagerClient(
            settings.alertmanager_url, settings.alertmanager_token, timeout
        ),
        redis=connect(redis_settings, retries=1),
        redis_prefix=redis_settings.prefix,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(
            f"cannot listen on {host}:{port} ({reason}); choose another with IOC_WALL_PORT "
            "or --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(settings: WallSettings, redis_settings: RedisSettings) -> None:
    """Serve the wall on ``settings.host:settings.port`` until SIGINT/SIGTERM.

    Raises:
        ConfigError: The address cannot be bound.
    """
    sock = _bind(settings.host, settings.port)
    app = build_app(make_wall(settings, redis_settings))
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    log.warning("ioc wall: serving on http://%s:%d/", settings.host, settings.port)
    server.run(sockets=[sock])
