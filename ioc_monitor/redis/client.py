"""Redis clients, sync and asyncio, standalone or Cluster, built from one :class:`RedisSettings`.

Both kinds get the same options: credentials from the ``SecretStr``, timeouts,
``health_check_interval`` and retries with exponential backoff on connection errors
and time-outs (redis-py's ``Retry``/``ExponentialBackoff``).
"""

from __future__ import annotations

from typing import Any, Final, cast

import redis.asyncio
import redis.asyncio.retry
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ioc_monitor.config import RedisSettings

__all__ = ["connect", "connect_async", "connection_options"]

#: Seconds of idleness after which a pooled connection is checked before use.
HEALTH_CHECK_INTERVAL_S: Final = 30
_BACKOFF_CAP_S: Final = 2.0
_BACKOFF_BASE_S: Final = 0.05


def connection_options(settings: RedisSettings) -> dict[str, Any]:
    """Options shared by the sync and asyncio clients (credentials and timeouts).

    Args:
        settings: Connection settings; the password is read from its ``SecretStr``.

    Returns:
        ``username``, ``password``, ``socket_timeout`` and ``socket_connect_timeout``
        (seconds) for ``Redis.from_url`` / ``RedisCluster.from_url``.
    """
    return {
        "username": settings.username,
        "password": settings.password.get_secret_value() if settings.password else None,
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.socket_timeout,
    }


def _backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=_BACKOFF_CAP_S, base=_BACKOFF_BASE_S)


def connect(settings: RedisSettings, retries: int = 3) -> Redis:
    """Open a sync Redis client with retries (exponential backoff) on connection errors.

    Args:
        settings: Connection settings; the password is read from its ``SecretStr``.
        retries: Retries per command before the error surfaces. Default 3.

    Returns:
        A client returning ``bytes`` (not decoded); a ``redis.cluster.RedisCluster``
        (same command API) when ``settings.cluster``.
    """
    options = connection_options(settings)
    retry = Retry(_backoff(), retries)
    if settings.cluster:
        from redis.cluster import RedisCluster

        return cast(Redis, RedisCluster.from_url(settings.url, retry=retry, **options))
    return Redis.from_url(
        settings.url,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        **options,
    )


def connect_async(settings: RedisSettings, retries: int = 3) -> redis.asyncio.Redis:
    """Open an asyncio Redis client with the same options and retries as :func:`connect`.

    Args:
        settings: Connection settings.
        retries: Retries per command before the error surfaces. Default 3.

    Returns:
        A ``redis.asyncio.Redis``; a ``redis.asyncio.cluster.RedisCluster`` (same
        command API, typed as ``Redis`` for the callers) when ``settings.cluster``.
    """
    options = connection_options(settings)
    retry = redis.asyncio.retry.Retry(_backoff(), retries)
    if settings.cluster:
        from redis.asyncio.cluster import RedisCluster

        return cast(
            redis.asyncio.Redis, RedisCluster.from_url(settings.url, retry=retry, **options)
        )
    return redis.asyncio.Redis.from_url(
        settings.url,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        **options,
    )
