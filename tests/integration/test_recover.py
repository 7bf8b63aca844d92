"""``ioc recover`` edge cases on the shared stack (the full story is in test_faults.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from services.harness import free_port
from services.publisher import client_options
from tests.integration.private_stack import PrivatePipeline

pytestmark = pytest.mark.integration


def test_recover_before_anything_ran(
    kafka_bootstrap: str, redis_url: str, unique_name: str, tmp_path: Path
) -> None:
    """No topic, no group, no state: nothing to rewind, no topic created, exit 0."""
    from kafka import KafkaAdminClient

    from ioc_monitor.config import KafkaSettings

    p = PrivatePipeline(unique_name, kafka_bootstrap, redis_url, tmp_path)
    client = redis.Redis.from_url(redis_url)
    neighbour = f"{p.prefix}_other:parts"
    client.set(neighbour, b"keep")
    try:
        done = p.run("recover", "--yes")
        assert b"deleted 0 Redis keys" in done.stderr
        assert b"partition\xe2\x86\x92offset: none" in done.stderr
        assert client.get(neighbour) == b"keep"
    finally:
        client.delete(neighbour)
        client.close()
    admin = KafkaAdminClient(**client_options(KafkaSettings(bootstrap=kafka_bootstrap)))
    try:
        assert p.topic not in admin.list_topics(), "recover created the topic"
    finally:
        admin.close()


def test_recover_without_redis_changes_nothing(
    kafka_bootstrap: str, unique_name: str, tmp_path: Path
) -> None:
    """Redis unreachable: a one-line error, and Kafka is left alone (checked first)."""
    p = PrivatePipeline(
        unique_name, kafka_bootstrap, f"redis://127.0.0.1:{free_port()}/0", tmp_path
    )
    failed = p.run_unchecked("recover", "--yes")
    assert failed.returncode == 1
    assert failed.stderr.startswith(b"ioc recover: error: Redis failed (ConnectionError)")
    assert b"Traceback" not in failed.stderr
