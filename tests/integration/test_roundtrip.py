"""Foundation acceptance: kafka-python → local Kafka → faust-streaming worker → Redis."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

pytestmark = pytest.mark.integration

APP_SCRIPT = Path(__file__).with_name("roundtrip_app.py")
WAIT_S = 60.0


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def test_kafka_to_faust_to_redis(
    kafka_bootstrap: str,
    redis_url: str,
    redis_client: redis.Redis,
    unique_name: str,
    tmp_path: Path,
) -> None:
    topic, key = f"{unique_name}-in", f"{unique_name}:result"
    expected = f"ok-{unique_name}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="ioc-test")
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    payload = json.dumps({"field": "status", "value": expected}).encode("utf-8")
    try:
        producer.send(topic, payload).get(timeout=30)
        producer.flush()
    finally:
        producer.close()

    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                str(APP_SCRIPT),
                f"--broker=kafka://{kafka_bootstrap}",
                f"--app-id={unique_name}",
                f"--topic={topic}",
                f"--redis-url={redis_url}",
                f"--key={key}",
                f"--datadir={tmp_path / 'faust-data'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + WAIT_S
        value = None
        while time.monotonic() < deadline and worker.poll() is None:
            value = redis_client.hget(key, "status")
            if value is not None:
                break
            time.sleep(0.5)
        assert worker.poll() is None, f"faust worker exited early:\n{_tail(log_path)}"
        assert value == expected, f"no Redis value after {WAIT_S:.0f} s:\n{_tail(log_path)}"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        _delete_topics(kafka_bootstrap, topic, f"{unique_name}-__assignor-__leader")


def _delete_topics(bootstrap: str, *names: str) -> None:
    """Best-effort clean-up so the shared dev broker does not accumulate test topics."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ioc-test")
    try:
        existing = set(admin.list_topics())
        doomed = [name for name in names if name in existing]
        if doomed:
            admin.delete_topics(doomed)
    except Exception:  # clean-up must not mask the test's own outcome
        pass
    finally:
        admin.close()
