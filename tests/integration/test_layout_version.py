"""The key-layout version in Redis: another layout stops the worker and exporter clearly."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
import redis

from ioc_monitor.errors import StoreError
from ioc_monitor.redis.layout import LAYOUT_VERSION, check_layout
from services.harness import IOC, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url: str, redis_prefix: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    try:
        yield c
    finally:
        c.close()


def _v1_state(client: redis.Redis, prefix: str) -> None:
    """What a worker of layout 1 left: a partition with an ``eid`` set."""
    client.sadd(f"{prefix}:parts", "0")
    client.zadd(f"{prefix}:{{0}}:eid", {"ev-1": 1.0})
    client.hset(f"{prefix}:{{0}}:dos", "d-1", "u-a|1")


def test_an_empty_store_gets_the_version(client: redis.Redis, redis_prefix: str) -> None:
    check_layout(client, redis_prefix)  # nothing there: fine, nothing written
    assert client.get(f"{redis_prefix}:layout") is None
    check_layout(client, redis_prefix, mark=True)
    assert client.get(f"{redis_prefix}:layout") == str(LAYOUT_VERSION).encode()
    check_layout(client, redis_prefix)


def test_unmarked_state_of_this_layout_is_marked(client: redis.Redis, redis_prefix: str) -> None:
    client.sadd(f"{redis_prefix}:parts", "0")
    client.hset(f"{redis_prefix}:{{0}}:dos", "d-1", "u-a|3||||1.0|")
    check_layout(client, redis_prefix)
    check_layout(client, redis_prefix, mark=True)
    assert client.get(f"{redis_prefix}:layout") == b"3"


@pytest.mark.parametrize("version", ["1", "2", "4"])
def test_another_version_is_refused(client: redis.Redis, redis_prefix: str, version: str) -> None:
    client.set(f"{redis_prefix}:layout", version)
    for mark in (False, True):
        with pytest.raises(StoreError, match=rf"layout '{version}'.*`ioc recover`"):
            check_layout(client, redis_prefix, mark=mark)


def test_state_written_before_versions_is_refused(client: redis.Redis, redis_prefix: str) -> None:
    _v1_state(client, redis_prefix)
    with pytest.raises(StoreError, match=r"layout 1 \(written before layout versions\)"):
        check_layout(client, redis_prefix, mark=True)
    assert client.get(f"{redis_prefix}:layout") is None  # nothing written over old state


@pytest.mark.parametrize("command", [["exporter", "--clock", "event"], ["worker"]])
def test_the_commands_stop_with_one_line_naming_ioc_recover(
    client: redis.Redis,
    redis_prefix: str,
    redis_url: str,
    kafka_bootstrap: str,
    unique_name: str,
    command: list[str],
) -> None:
    _v1_state(client, redis_prefix)
    env = dict(
        os.environ,
        IOC_REDIS_URL=redis_url,
        IOC_REDIS_PREFIX=redis_prefix,
        IOC_KAFKA_BOOTSTRAP=kafka_bootstrap,
        IOC_KAFKA_TOPIC=unique_name,
        IOC_KAFKA_DLQ_TOPIC=f"{unique_name}.dlq",
        IOC_KAFKA_GROUP=f"g-{unique_name}",
    )
    args = [*command, "--port", str(free_port())] if command[0] == "exporter" else command
    done = subprocess.run([*IOC, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ioc {command[0]}: error: Redis keys with prefix")
    assert "layout 1" in last and "`ioc recover`" in last
    assert "Traceback" not in done.stderr
