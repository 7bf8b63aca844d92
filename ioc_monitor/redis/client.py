"""Redis clients, sync and asyncio, standalone or Cluster, built from one :class:`RedisSettings`.

Both kinds get the same options: credentials from the ``SecretStr``, timeouts,
``health_check_interval``, retries with exponential backoff on connection errors
and time-outs (redis-py's ``Retry``/``ExponentialBackoff``) and, with a ``rediss://``
URL, TLS with the server's certificate and host name verified against
``IOC_REDIS_SSL_CA_CERTS`` (and a client certificate if one is set).

A failed TLS handshake of the sync client raises :class:`RedisTLSError` (a redis-py
``ConnectionError``, so it is retried and reported like Redis being unavailable, but
named). :func:`check_tls`, run by :func:`connect_async` (the worker, at start-up),
turns a certificate the server or the client refuses into a
:class:`~ioc_monitor.errors.ConfigError` naming the setting, instead of endless retries.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any, Final, cast
from urllib.parse import urlsplit

import hiredis
import redis.asyncio
import redis.asyncio.connection
import redis.asyncio.retry
from redis import Redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ioc_monitor.config import RedisSettings
from ioc_monitor.errors import ConfigError

__all__ = [
    "RedisTLSError",
    "check_tls",
    "connect",
    "connect_async",
    "connection_options",
    "tls_problem",
]

#: Seconds of idleness after which a pooled connection is checked before use.
HEALTH_CHECK_INTERVAL_S: Final = 30
_BACKOFF_CAP_S: Final = 2.0
_BACKOFF_BASE_S: Final = 0.05


class RedisTLSError(RedisConnectionError):
    """The TLS handshake with Redis failed; the message names the setting to check."""


def tls_problem(exc: ssl.SSLError, where: str) -> str:
    """Describe a failed TLS handshake with Redis, naming the settings to check.

    Args:
        exc: The handshake's error (never holds key material).
        where: ``host:port`` of the server.

    Returns:
        One line: the failure and which ``IOC_REDIS_*`` setting is the likely cause.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS to Redis at {where} failed: the server's certificate is not trusted "
            f"({exc.verify_message}); check IOC_REDIS_SSL_CA_CERTS (the CA that signed it) "
            "and the host name of IOC_REDIS_URL"
        )
    return (
        f"TLS to Redis at {where} failed ({exc.reason or exc}); check IOC_REDIS_SSL_CERTFILE "
        "and IOC_REDIS_SSL_KEYFILE (a client certificate the server accepts) and "
        "IOC_REDIS_SSL_CA_CERTS"
    )


class _TLSConnection(SSLConnection):
    """redis-py's ``SSLConnection`` whose failed handshake raises :class:`RedisTLSError`."""

    def _connect(self) -> Any:
        try:
            return super()._connect()  # type: ignore[no-untyped-call]
        except ssl.SSLError as exc:
            raise RedisTLSError(tls_problem(exc, f"{self.host}:{self.port}")) from exc


def _pack(encoder: Any, args: Sequence[Any]) -> list[bytes]:
    """One command in the Redis protocol, packed by hiredis' C packer.

    redis-py's asyncio connection packs each argument in Python (about 2 µs an argument
    for a commit's thousand keys); its sync connection already uses hiredis. Arguments
    are encoded as redis-py encodes them (bytes as they are, ``str`` in the client's
    encoding, numbers by ``repr``; anything else is redis-py's ``DataError``), and a
    command name of several words (``"CLIENT SETNAME"``) is split as redis-py does.

    Args:
        encoder: The connection's redis-py ``Encoder``.
        args: The command and its arguments.

    Returns:
        The packed command, one ``bytes``.
    """
    first = args[0]
    if isinstance(first, str):
        args = (*first.encode().split(), *args[1:])
    elif b" " in first:
        args = (*first.split(), *args[1:])
    encoding, errors, encode = encoder.encoding, encoder.encoding_errors, encoder.encode
    packed: list[bytes] = []
    for arg in args:
        kind = type(arg)
        if kind is not bytes:
            arg = arg.encode(encoding, errors) if kind is str else bytes(encode(arg))
        packed.append(arg)
    # hiredis 3.5's stub types the argument as a one-element tuple; it takes any length.
    return [hiredis.pack_command(tuple(packed))]  # type: ignore[arg-type]


class _HiredisPacking:
    """Mixin of a redis-py asyncio connection: commands packed by :func:`_pack`."""

    encoder: Any

    def pack_command(self, *args: Any) -> list[bytes]:
        return _pack(self.encoder, args)


class _PackedConnection(_HiredisPacking, redis.asyncio.connection.Connection):
    """redis-py's asyncio ``Connection`` packing commands with hiredis."""


class _PackedSSLConnection(_HiredisPacking, redis.asyncio.connection.SSLConnection):
    """redis-py's asyncio ``SSLConnection`` packing commands with hiredis."""


def _tls(settings: RedisSettings) -> bool:
    return urlsplit(settings.url).scheme == "rediss"


def connection_options(settings: RedisSettings) -> dict[str, Any]:
    """Options shared by the sync and asyncio clients (credentials, timeouts, TLS).

    Args:
        settings: Connection settings; the password is read from its ``SecretStr``.

    Returns:
        ``username``, ``password``, ``socket_timeout`` and ``socket_connect_timeout``
        (seconds) for ``Redis.from_url`` / ``RedisCluster.from_url``; with a ``rediss://``
        URL also ``ssl_cert_reqs="required"`` and the ``ssl_ca_certs``, ``ssl_certfile``
        and ``ssl_keyfile`` that are set (as strings).
    """
    options: dict[str, Any] = {
        "username": settings.username,
        "password": settings.password.get_secret_value() if settings.password else None,
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.socket_timeout,
    }
    if _tls(settings):
        options["ssl_cert_reqs"] = "required"
        for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
            value = getattr(settings, name)
            if value is not None:
                options[name] = str(value)
    return options


def check_tls(settings: RedisSettings) -> None:
    """With a ``rediss://`` URL, check the TLS handshake once (one ``PING``, no retry).

    A certificate refused by either side (wrong ``IOC_REDIS_SSL_CA_CERTS``, missing or
    rejected client certificate) is a configuration error. A server that does not
    answer, or refuses the credentials, is not an error here: the caller's retries deal
    with it. Bounded by ``settings.socket_timeout``. Plain URLs: nothing is done.

    Args:
        settings: Connection settings.

    Raises:
        ConfigError: The TLS handshake failed; the message names the setting.
    """
    if not _tls(settings):
        return
    client = Redis.from_url(
        settings.url,
        connection_class=_TLSConnection,
        retry=Retry(NoBackoff(), 0),
        **connection_options(settings),
    )
    try:
        client.ping()
    except RedisTLSError as exc:
        raise ConfigError(str(exc)) from None
    except RedisError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLError):  # e.g. the server's alert: certificate required
            parts = urlsplit(settings.url)
            raise ConfigError(tls_problem(cause, f"{parts.hostname}:{parts.port}")) from None
    finally:
        client.close()


def _backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=_BACKOFF_CAP_S, base=_BACKOFF_BASE_S)


def connect(settings: RedisSettings, retries: int = 3) -> Redis:
    """Open a sync Redis client with retries (exponential backoff) on connection errors.

    Args:
        settings: Connection settings; the password is read from its ``SecretStr``.
        retries: Retries per command before the error surfaces. Default 3.

    Returns:
        A client returning ``bytes`` (not decoded); a ``redis.cluster.RedisCluster``
        (same command API) when ``settings.cluster``. Nothing is connected yet.
    """
    options = connection_options(settings)
    retry = Retry(_backoff(), retries)
    if settings.cluster:
        from redis.cluster import RedisCluster

        return cast(Redis, RedisCluster.from_url(settings.url, retry=retry, **options))
    if _tls(settings):
        options["connection_class"] = _TLSConnection
    return Redis.from_url(
        settings.url,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        **options,
    )


def connect_async(settings: RedisSettings, retries: int = 3) -> redis.asyncio.Redis:
    """Open an asyncio Redis client with the same options and retries as :func:`connect`.

    With a ``rediss://`` URL, :func:`check_tls` runs first (blocking, at most
    ``settings.socket_timeout``), so that a wrong certificate stops the caller at once.

    Args:
        settings: Connection settings.
        retries: Retries per command before the error surfaces. Default 3.

    Returns:
        A ``redis.asyncio.Redis`` whose connections pack commands with hiredis (see
        :func:`_pack`); a ``redis.asyncio.cluster.RedisCluster`` (same command API,
        typed as ``Redis`` for the callers) when ``settings.cluster``.

    Raises:
        ConfigError: The TLS handshake failed (see :func:`check_tls`).
    """
    check_tls(settings)
    options = connection_options(settings)
    retry = redis.asyncio.retry.Retry(_backoff(), retries)
    if settings.cluster:
        from redis.asyncio.cluster import RedisCluster

        return cast(
            redis.asyncio.Redis, RedisCluster.from_url(settings.url, retry=retry, **options)
        )
    client = redis.asyncio.Redis.from_url(
        settings.url,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        **options,
    )
    # Set on the pool before it made any connection: from_url takes the class from the
    # URL's scheme (SSLConnection for rediss://) over a connection_class argument.
    pool = client.connection_pool
    pool.connection_class = _PackedSSLConnection if _tls(settings) else _PackedConnection
    return client
