"""Which failures the batch processor retries as Redis failures."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from streams.processor import _redis_fault


class _ClosedUnderUs(Connection):
    """A connection another task disconnected between its connect and its write."""

    async def connect_check_health(self, *args: object, **kwargs: object) -> None:
        """Leave the writer ``None``, as the concurrent disconnect does."""


def _raised_inside_redis_py() -> BaseException:
    """The AttributeError redis-py's asyncio client raises on a connection closed under it."""
    conn = _ClosedUnderUs(socket_timeout=None)
    try:
        asyncio.run(conn.send_packed_command([b"PING\r\n"], check_health=False))
    except BaseException as exc:
        return exc
    raise AssertionError("send on a connection with no writer did not raise")


def test_redis_errors_are_retried() -> None:
    assert _redis_fault(RedisConnectionError("down"))


def test_an_attribute_error_from_inside_redis_py_is_retried() -> None:
    exc = _raised_inside_redis_py()
    assert isinstance(exc, AttributeError)
    assert "writelines" in str(exc)
    assert _redis_fault(exc)


@pytest.mark.parametrize("exc_type", [AttributeError, TypeError, ValueError])
def test_our_own_bugs_are_not_retried(exc_type: type[Exception]) -> None:
    try:
        raise exc_type("a bug in our code")
    except exc_type as exc:
        assert not _redis_fault(exc)
