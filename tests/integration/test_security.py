"""Security on the real pipeline: SASL/SCRAM Kafka, Redis ACL, secrets, bind address, PII.

- The pipeline runs through a private broker whose only client listener is
  SASL_PLAINTEXT with SCRAM-SHA-256, and a private Redis with an ACL user (the default
  user off); the exposition equals ``ioc kpi`` on the same log.
- The distinctive passwords, right and wrong, never appear in any log, stdout or
  stderr, including the error messages of wrong-password runs.
- ``/metrics`` binds to ``IOC_EXPORTER_ADDR`` only.
- Personal data carried by events never reaches metrics, logs, Redis keys or values,
  or dead-letter headers (the dead-letter body keeps the original message by design).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from ioc_monitor.config import StackSettings
from services.harness import free_port
from services.publisher import client_options
from services.stack.control import ServiceStatus
from tests.integration.pipeline import samples
from tests.integration.private_stack import (
    PrivateKafka,
    PrivatePipeline,
    PrivateRedis,
    pipeline_equals_kpi,
    scrape,
    stack_jars,
    wait_for,
)

pytestmark = pytest.mark.integration

KAFKA_USER, KAFKA_PASSWORD = "ioc", "Kafka-Pw-7c1e9aZ-zebra"
REDIS_USER, REDIS_PASSWORD = "ioc", "Redis-Pw-4b2d8qY-okapi"
WRONG_KAFKA_PASSWORD = "Wrong-Kafka-Pw-e55d1X-lynx"
WRONG_REDIS_PASSWORD = "Wrong-Redis-Pw-a90c3W-ibex"
SECRETS = (KAFKA_PASSWORD, REDIS_PASSWORD, WRONG_KAFKA_PASSWORD, WRONG_REDIS_PASSWORD)


@pytest.fixture(scope="module")
def sasl_kafka(
    stack: list[ServiceStatus],
    stack_settings: StackSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PrivateKafka]:
    broker = PrivateKafka(
        tmp_path_factory.mktemp("kafka-sasl"),
        stack_jars(stack_settings),
        stack_settings.kafka_version,
        sasl_user=KAFKA_USER,
        sasl_password=KAFKA_PASSWORD,
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def acl_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis", username=REDIS_USER, password=REDIS_PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def secured(
    sasl_kafka: PrivateKafka, acl_redis: PrivateRedis, unique_name: str, tmp_path: Path
) -> Iterator[PrivatePipeline]:
    p = PrivatePipeline(
        unique_name,
        sasl_kafka.bootstrap,
        acl_redis.url,
        tmp_path,
        redis_username=REDIS_USER,
        redis_password=REDIS_PASSWORD,
        extra_env=sasl_kafka.env(),
    )
    try:
        yield p
    finally:
        p.stop()


class Outputs:
    """Everything the commands of a test printed, to search for secrets."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, bytes]] = []

    def add(self, what: str, result: subprocess.CompletedProcess[bytes]) -> None:
        self.texts.append((f"{what} stdout", result.stdout))
        self.texts.append((f"{what} stderr", result.stderr))

    def files(self, *dirs: Path) -> None:
        for d in dirs:
            for path in sorted(d.rglob("*.log")):
                self.texts.append((str(path), path.read_bytes()))

    def assert_absent(self, *values: str) -> None:
        assert self.texts
        for what, text in self.texts:
            for value in values:
                assert value.encode() not in text, f"{value!r} found in {what}"


def _simulate(p: PrivatePipeline, seed: int, dossiers: int = 300) -> tuple[Path, int]:
    log = p.workdir / "events.jsonl"
    p.run(
        *("simulate", "--seed", str(seed), "--dossiers", str(dossiers)),
        *("--noise", "0.05", "--out", str(log)),
    )
    return log, sum(1 for line in log.read_bytes().split(b"\n") if line)


# --- SASL/SCRAM + Redis ACL --------------------------------------------------------------


def test_pipeline_through_sasl_scram_and_redis_acl(
    secured: PrivatePipeline, sasl_kafka: PrivateKafka, acl_redis: PrivateRedis
) -> None:
    p = secured
    out = Outputs()
    anonymous = redis.Redis(port=acl_redis.port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()  # the default user is off
    anonymous.close()
    log, n = _simulate(p, seed=71)
    # every series equals `ioc kpi`; the dead letters went through the SASL producer
    out.add("replay", pipeline_equals_kpi(p, log, n, sasl_kafka.settings()))
    # `ioc simulate --to-kafka` publishes with the same credentials
    out.add(
        "simulate --to-kafka",
        p.run(
            *("simulate", "--seed", "74", "--dossiers", "20", "--to-kafka"),
            *("--topic", f"{p.topic}-sim", "--partitions", "1", "--no-progress"),
        ),
    )
    # `ioc recover` reaches both with the same credentials (the worker stopped first)
    p.stop()
    out.add("recover", p.run("recover", "--yes"))
    client = acl_redis.client()
    assert not list(client.scan_iter(match=f"{p.prefix}:*"))
    client.close()
    # `ioc backfill` rebuilds it with the same credentials (aiokafka and the ACL user)
    out.add("backfill", p.run("backfill", "--no-progress"))
    assert samples(scrape(p.start_exporter("event"))) == p.expected(log)
    p.stop()
    out.files(p.workdir, sasl_kafka.workdir)
    out.assert_absent(*SECRETS)


@pytest.mark.slow
def test_wrong_passwords_never_leak(
    sasl_kafka: PrivateKafka, acl_redis: PrivateRedis, unique_name: str, tmp_path: Path
) -> None:
    """Wrong Kafka and Redis passwords fail with messages that do not contain them."""
    out = Outputs()
    right = PrivatePipeline(
        unique_name,
        sasl_kafka.bootstrap,
        acl_redis.url,
        tmp_path,
        redis_username=REDIS_USER,
        redis_password=REDIS_PASSWORD,
        extra_env=sasl_kafka.env(),
    )
    log, _ = _simulate(right, seed=72, dossiers=50)
    wrong_kafka = PrivatePipeline(
        unique_name,
        sasl_kafka.bootstrap,
        acl_redis.url,
        tmp_path,
        redis_username=REDIS_USER,
        redis_password=REDIS_PASSWORD,
        extra_env={**sasl_kafka.env(), "IOC_KAFKA_SASL_PASSWORD": WRONG_KAFKA_PASSWORD},
    )
    wrong_redis = PrivatePipeline(
        unique_name,
        sasl_kafka.bootstrap,
        acl_redis.url,
        tmp_path,
        redis_username=REDIS_USER,
        redis_password=WRONG_REDIS_PASSWORD,
        extra_env=sasl_kafka.env(),
    )
    try:
        # Kafka: replay and recover refuse to start; the worker keeps failing to join.
        worker = wrong_kafka.start("worker", "--loglevel", "info", log="worker-wrong-kafka.log")
        failed = wrong_kafka.run_unchecked("replay", str(log), "--partitions", "3", timeout=180)
        assert failed.returncode != 0
        out.add("replay (wrong Kafka password)", failed)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        # Redis: the worker retries, the exporter answers redis_up 0, recover refuses.
        right.run("replay", str(log), "--partitions", "3", "--no-progress")
        worker = wrong_redis.start("worker", "--loglevel", "info", log="worker-wrong-redis.log")
        url = wrong_redis.start_exporter("event")
        assert "ioc_exporter_redis_up 0.0" in scrape(url).splitlines()
        wait_for(
            lambda: "Redis unavailable" in (tmp_path / "worker-wrong-redis.log").read_text(),
            "the worker meeting the wrong Redis password",
        )
        assert worker.poll() is None
        refused = wrong_redis.run_unchecked("recover", "--yes")
        assert refused.returncode == 1 and b"AuthenticationError" in refused.stderr
        out.add("recover (wrong Redis password)", refused)
    finally:
        wrong_kafka.stop()
        wrong_redis.stop()
    out.files(tmp_path, sasl_kafka.workdir)
    out.assert_absent(*SECRETS)


# --- bind address ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addr", "other"), [("127.0.0.2", "127.0.0.1"), ("127.0.0.1", "127.0.0.2")]
)
def test_exporter_binds_only_its_address(
    addr: str, other: str, redis_url: str, unique_name: str, tmp_path: Path
) -> None:
    port = free_port()
    p = PrivatePipeline(
        unique_name,
        "127.0.0.1:1",
        redis_url,
        tmp_path,
        extra_env={"IOC_EXPORTER_ADDR": addr, "IOC_EXPORTER_PORT": str(port)},
    )
    try:
        proc = p.start("exporter", "--clock", "event", log="exporter.log")

        def answers() -> bool:
            try:
                return "ioc_exporter_redis_up 1.0" in scrape(f"http://{addr}:{port}/metrics")
            except OSError:
                assert proc.poll() is None, (tmp_path / "exporter.log").read_text()
                return False

        wait_for(answers, f"the exporter on {addr}:{port}")
        with pytest.raises(OSError):
            scrape(f"http://{other}:{port}/metrics")
    finally:
        p.stop()


# --- personal data -----------------------------------------------------------------------

PII = {
    "applicant_name": "Nguyễn Thị Piiname Zephyrine",
    "citizen_id": "022199004321",
    "phone": "+84 912 000 471",
    "address": "17 ngõ Piiaddr-Quark, phường Hồng Gai, Hạ Long",
}
#: Also searched for: pieces that survive any re-encoding.
PII_TOKENS = (*PII.values(), "Piiname", "Zephyrine", "Piiaddr", "022199004321", "912 000 471")


def _with_pii(line: bytes, **fields: Any) -> bytes:
    doc = orjson.loads(line)
    doc.update(PII)
    doc.update(fields)
    return orjson.dumps(doc)


def _redis_dump(client: redis.Redis, prefix: str) -> list[tuple[bytes, bytes]]:
    """(key, everything readable about it) for every key of the prefix."""
    out: list[tuple[bytes, bytes]] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        kind = client.type(key)
        parts: list[bytes] = [key, client.dump(key) or b""]
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"hash":
            parts += [x for kv in client.hgetall(key).items() for x in kv]
        elif kind == b"zset":
            parts += [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == b"set":
            parts += list(client.smembers(key))
        elif kind == b"list":
            parts += client.lrange(key, 0, -1)
        else:
            raise AssertionError(f"unexpected key type {kind!r} of {key!r}")
        out.append((key, b"\x00".join(parts)))
    return out


def test_personal_data_never_leaves_the_parser(
    kafka_bootstrap: str, redis_url: str, unique_name: str, tmp_path: Path
) -> None:
    p = PrivatePipeline(unique_name, kafka_bootstrap, redis_url, tmp_path)
    try:
        _run_pii(p, kafka_bootstrap)
    finally:
        p.stop()
        p.clean_redis()


def _run_pii(p: PrivatePipeline, bootstrap: str) -> None:
    base = p.workdir / "base.jsonl"
    p.run("simulate", "--seed", "73", "--dossiers", "200", "--out", str(base))
    valid = [line for line in base.read_bytes().split(b"\n") if line]
    lines = [_with_pii(line) if i % 3 == 0 else line for i, line in enumerate(valid)]
    rejected = [
        _with_pii(valid[1], event_id="pii-r1", unit_id="no-such-unit"),  # unknown_unit
        _with_pii(valid[2], event_id="pii-r2", status="closed"),  # unknown_status
        _with_pii(valid[3], event_id="pii-r3", occurred_at="2025-07-01T09:00:00"),  # schema
        _with_pii(valid[4], event_id="pii-r4")[:-30],  # truncated: malformed_json
        _with_pii(valid[5], event_id="pii-r5", padding="x" * 70_000),  # too_large
    ]
    lines += rejected
    log = p.workdir / "pii.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    p.start("worker", "--loglevel", "info", log="worker.log")
    p.run("replay", str(log), "--max", "--partitions", "3")
    p.wait_counted(len(lines))
    exposition = scrape(p.start_exporter("event"))
    assert samples(exposition) == p.expected(log)

    found: list[str] = []
    for token in PII_TOKENS:
        needle = token.encode()
        if needle in exposition.encode():
            found.append(f"metrics: {token}")
        for path in sorted(p.workdir.glob("*.log")):
            if needle in path.read_bytes():
                found.append(f"{path.name}: {token}")
    client = p.redis()
    try:
        dump = _redis_dump(client, p.prefix)
    finally:
        client.close()
    assert len(dump) > 20
    for key, blob in dump:
        found += [f"redis {key!r}: {t}" for t in PII_TOKENS if t.encode() in blob]

    from kafka import KafkaConsumer

    from ioc_monitor.config import KafkaSettings

    consumer = KafkaConsumer(
        f"{p.topic}.dlq",
        **client_options(KafkaSettings(bootstrap=bootstrap)),
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    records = list(consumer)
    consumer.close()
    assert len(records) >= len(rejected)
    bodies_with_pii = 0
    for record in records:
        for name, value in record.headers:
            found += [f"DLQ header {name}: {t}" for t in PII_TOKENS if t.encode() in value]
        bodies_with_pii += PII["applicant_name"].encode() in record.value
    assert bodies_with_pii == len(rejected)  # by design the body is the original message
    assert not found, found
