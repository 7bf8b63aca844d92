"""Tests leave the shared Redis of a running ``make demo`` alone (db 0, prefix ``ioc``).

A test's clean-up deletes its own keys only: a fake demo key ``ioc:...`` and a key whose
prefix merely starts like the test's survive it. Both are written under unique names and
removed by this module itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.integration.shared_redis import delete_prefix, own_prefix_client

pytestmark = pytest.mark.integration


def _foreign(unique_name: str) -> dict[str, str]:
    """Keys that are not the test's: a demo-like ``ioc:`` key and a look-alike prefix."""
    return {
        f"ioc:{unique_name}:demo": "demo-state",  # as a running `make demo` would hold
        f"{unique_name}-other:parts": "neighbour",  # starts like the prefix, is not under it
        f"{unique_name}x:off": "neighbour-2",
    }


def _own(unique_name: str) -> list[str]:
    return [f"{unique_name}:result", f"{unique_name}:{{0}}:off", f"{unique_name}:a:b:c"]


def _write_own(client: redis.Redis, unique_name: str) -> None:
    own = _own(unique_name)
    client.hset(own[0], "status", "ok")
    client.set(own[1], "7")
    client.zadd(own[2], {"m": 1.0})
    assert client.exists(*own) == 3


def test_own_prefix_client_deletes_only_its_prefix(redis_url: str, unique_name: str) -> None:
    raw = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5.0)
    foreign = _foreign(unique_name)
    try:
        raw.mset(foreign)
        with own_prefix_client(redis_url, unique_name) as client:
            _write_own(client, unique_name)
        assert raw.exists(*_own(unique_name)) == 0
        assert raw.mget(list(foreign)) == list(foreign.values())
    finally:
        raw.delete(*foreign, *_own(unique_name))
        raw.close()


def test_delete_prefix_takes_glob_characters_literally(redis_url: str, unique_name: str) -> None:
    raw = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5.0)
    starred, plain = f"{unique_name}*", f"{unique_name}-q"
    try:
        raw.set(f"{starred}:k", "1")
        raw.set(f"{plain}:k", "2")
        assert delete_prefix(raw, starred) == 1
        assert raw.get(f"{starred}:k") is None
        assert raw.get(f"{plain}:k") == "2"
    finally:
        raw.delete(f"{starred}:k", f"{plain}:k")
        raw.close()


@pytest.fixture
def demo_witness(redis_url: str, unique_name: str) -> Iterator[None]:
    """Foreign keys written before ``redis_client`` exists, checked after its clean-up.

    Requested before ``redis_client``, so pytest tears it down after it. Should the order
    ever differ, the test's own keys are still there and the check fails (never passes
    vacuously).
    """
    raw = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5.0)
    foreign = _foreign(unique_name)
    raw.mset(foreign)
    try:
        yield
        assert raw.exists(*_own(unique_name)) == 0, "redis_client left the test's keys"
        assert raw.mget(list(foreign)) == list(foreign.values()), "foreign keys were deleted"
    finally:
        raw.delete(*foreign, *_own(unique_name))
        raw.close()


def test_redis_client_cleanup_keeps_other_prefixes(
    demo_witness: None, redis_client: redis.Redis, unique_name: str
) -> None:
    _write_own(redis_client, unique_name)
    assert redis_client.get(f"ioc:{unique_name}:demo") == "demo-state"
