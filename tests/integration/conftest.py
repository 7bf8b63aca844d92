"""Fixtures of the integration suite: the real local stack (Kafka, Redis, Prometheus, AM).

The ``stack`` fixture brings the stack up once per session (reusing running services) and
fails the tests, never skips them, when it cannot.

The local Redis is shared with a running ``make demo`` (db 0, prefix ``ioc``): a test
writes only under a prefix of its own and deletes only those keys, never ``FLUSHDB``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ioc_monitor.config import StackSettings, load
from ioc_monitor.errors import StackError
from services.stack.control import ServiceStatus, ensure_up
from tests.integration.pipeline import Pipeline
from tests.integration.shared_redis import delete_prefix, own_prefix_client

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack_settings() -> StackSettings:
    """``IOC_STACK_*`` settings; a relative stack dir is anchored at the repository root."""
    settings = load(StackSettings)
    if not settings.dir.is_absolute():
        settings = settings.model_copy(update={"dir": REPO_ROOT / settings.dir})
    return settings


@pytest.fixture(scope="session")
def stack(stack_settings: StackSettings) -> list[ServiceStatus]:
    """The running local stack (started if needed); fails the session if it cannot start."""
    try:
        return ensure_up(stack_settings)
    except StackError as exc:
        pytest.fail(f"local stack is not available: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: list[ServiceStatus], stack_settings: StackSettings) -> str:
    """``127.0.0.1:<port>`` of the local Kafka broker."""
    return f"127.0.0.1:{stack_settings.kafka_port}"


@pytest.fixture(scope="session")
def redis_url(stack: list[ServiceStatus], stack_settings: StackSettings) -> str:
    """``redis://`` URL of db 0 of the local Redis."""
    return f"redis://127.0.0.1:{stack_settings.redis_port}/0"


@pytest.fixture
def redis_client(redis_url: str, unique_name: str) -> Iterator[redis.Redis]:
    """A ``decode_responses`` client of the local Redis (db 0, shared with ``make demo``).

    The test writes only keys ``<unique_name>:...``; exactly those are deleted after it.
    """
    with own_prefix_client(redis_url, unique_name) as client:
        yield client


@pytest.fixture
def redis_prefix(redis_url: str, unique_name: str) -> Iterator[str]:
    """A key prefix unique to the test; its keys are deleted after the test."""
    name = unique_name[-24:].replace("-", "_")
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        delete_prefix(client, name)
    finally:
        client.close()


@pytest.fixture
def pipeline(
    kafka_bootstrap: str, redis_url: str, unique_name: str, tmp_path: Path
) -> Iterator[Pipeline]:
    """One isolated pipeline on the local stack (own topic, group, prefix), cleaned after."""
    p = Pipeline(unique_name, kafka_bootstrap, redis_url, tmp_path)
    try:
        yield p
    finally:
        p.stop()
        p.clean_redis()


@pytest.fixture(scope="session")
def kcat(stack: object) -> str:
    """The kcat executable (``ioc stack up`` installs the Debian package ``kcat``)."""
    found = shutil.which("kcat")
    if found is None:
        pytest.fail("kcat not found: `ioc stack up` installs it (Debian package kcat)")
    return found
