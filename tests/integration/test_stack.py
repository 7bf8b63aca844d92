"""The local stack answers: every service up, Redis PING, HTTP readiness, Kafka topics."""

from __future__ import annotations

import urllib.request

import pytest
import redis
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from ioc_monitor.config import StackSettings
from services.stack.control import SERVICE_NAMES, ServiceStatus, status

pytestmark = pytest.mark.integration


def test_status_reports_every_service_up(
    stack: list[ServiceStatus], stack_settings: StackSettings
) -> None:
    statuses = status(stack_settings)
    assert [s.name for s in statuses] == list(SERVICE_NAMES)
    for entry in statuses:
        assert entry.up, entry
        assert entry.pid is not None and entry.pid > 1
        assert entry.address.startswith("127.0.0.1:")


def test_redis_ping(redis_client: redis.Redis) -> None:
    assert redis_client.ping() is True


@pytest.mark.parametrize("service", ["prometheus", "alertmanager"])
def test_http_ready(service: str, stack: list[ServiceStatus]) -> None:
    address = next(s.address for s in stack if s.name == service)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://{address}/-/ready", timeout=5) as resp:
        assert resp.status == 200


def test_kafka_create_and_list_topic(kafka_bootstrap: str, unique_name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="ioc-test")
    try:
        admin.create_topics([NewTopic(unique_name, num_partitions=3, replication_factor=1)])
        assert unique_name in admin.list_topics()
        admin.delete_topics([unique_name])
    finally:
        admin.close()
