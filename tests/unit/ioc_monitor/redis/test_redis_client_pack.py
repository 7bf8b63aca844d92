"""The asyncio client's hiredis packer sends exactly the bytes redis-py's own packer sends."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio.connection import Connection, SSLConnection
from redis.exceptions import DataError

from ioc_monitor.config import RedisSettings
from ioc_monitor.redis.client import _PackedConnection, _PackedSSLConnection, connect_async

_ARG = st.one_of(
    st.text(),
    st.binary(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary().map(bytearray),
    st.binary().map(memoryview),
)


def _redis_py(*args: object) -> bytes:
    return b"".join(bytes(x) for x in Connection().pack_command(*args))  # type: ignore[arg-type]


def _ours(*args: object) -> bytes:
    return b"".join(_PackedConnection().pack_command(*args))


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["EVALSHA", b"HMGET", "CLIENT SETNAME", b"CONFIG GET"]), st.lists(_ARG))
def test_the_same_bytes_as_redis_py(command: str | bytes, args: list[object]) -> None:
    assert _ours(command, *args) == _redis_py(command, *args)


def test_by_hand() -> None:
    assert _ours("HSET", "k:é", 7, 2.5, b"v") == (
        b"*5\r\n$4\r\nHSET\r\n$4\r\nk:\xc3\xa9\r\n$1\r\n7\r\n$3\r\n2.5\r\n$1\r\nv\r\n"
    )
    assert _ours("CLIENT SETNAME", "w") == b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$1\r\nw\r\n"


def test_refuses_what_redis_py_refuses() -> None:
    for bad in (True, None, object()):
        with pytest.raises(DataError):
            _redis_py("SET", "k", bad)
        with pytest.raises(DataError):
            _ours("SET", "k", bad)


def test_the_client_uses_it_plain_and_tls() -> None:
    plain = connect_async(RedisSettings(url="redis://127.0.0.1:1/0"))
    tls = connect_async(RedisSettings(url="rediss://127.0.0.1:1/0"))
    assert plain.connection_pool.connection_class is _PackedConnection
    assert tls.connection_pool.connection_class is _PackedSSLConnection
    assert issubclass(_PackedSSLConnection, SSLConnection)
