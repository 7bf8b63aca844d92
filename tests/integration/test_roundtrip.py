"""Foundation acceptance: kafka-python → local Kafka → the real ``ioc worker`` → Redis.

A dozen hand-written events (receipts on every channel, early, on-time and late
completions, a refusal, an overdue dossier, a duplicate and two rejects) are produced
with kafka-python; the real worker runs as a subprocess; every figure read back from
Redis is the one worked out by hand below, and the rejects are on the dead-letter topic.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from ioc_monitor.redis.reader import read_snapshot
from ioc_monitor.snapshot import Snapshot
from services.harness import IOC, spawn, stop
from services.stack.proc import tail
from tests.integration.pipeline import dead_letters

pytestmark = pytest.mark.integration

WAIT_S = 120.0
UNITS_FILE = Path(__file__).resolve().parents[2] / "ioc_monitor" / "data" / "quang_ninh.yaml"
PROVINCE, COMMUNE = "qn-ttpvhcc", "qn-c-ha-long"


def _t(local: str) -> str:
    """``2025-07-DDTHH:MM`` local time (UTC+7) as RFC 3339."""
    return f"2025-07-{local}:00+07:00"


def _ev(n: int, dossier: str, status: str, at: str, **fields: Any) -> tuple[bytes, bytes]:
    body = {"event_id": f"rt-{n}", "dossier_id": dossier, "unit_id": PROVINCE}
    body |= {"status": status, "occurred_at": _t(at), **fields}
    return dossier.encode(), orjson.dumps(body)


def _receipt(received: str, due: str, **fields: Any) -> dict[str, Any]:
    return {"received_at": _t(received), "due_at": _t(due), **fields}


# The event clock T is the watermark, the latest occurred_at accepted: 11th 10:00.
D1_RECEIVED = _ev(
    1,
    "D1",
    "received",
    "10T08:00",
    **_receipt("10T08:00", "12T17:00", channel="online", online_mode="full"),
)
MESSAGES: list[tuple[bytes, bytes]] = [
    D1_RECEIVED,  # received:online_full on the 10th 08:00
    # returned on the 11th, due the 12th: completed:early at T (ended_at = occurred_at)
    _ev(
        2,
        "D1",
        "returned",
        "11T10:00",
        **_receipt("10T08:00", "12T17:00", channel="online", online_mode="full"),
    ),
    _ev(3, "D2", "received", "10T09:00", **_receipt("10T09:00", "10T17:00")),  # in_person
    _ev(4, "D2", "decided", "10T16:00", **_receipt("10T09:00", "10T17:00")),  # on_time
    # postal, due after T: in progress, not overdue; received exactly 24 h before T
    _ev(5, "D3", "received", "10T10:00", **_receipt("10T10:00", "11T12:00", channel="postal")),
    _ev(6, "D4", "refused", "10T11:00", unit_id=COMMUNE),  # refused
    _ev(7, "D5", "received", "10T12:00", **_receipt("10T12:00", "10T15:00", channel="online")),
    _ev(8, "D5", "returned", "10T18:00", **_receipt("10T12:00", "10T15:00", channel="online")),
    # in_person, due before T: in progress and overdue
    _ev(9, "D6", "received", "10T13:00", **_receipt("10T13:00", "11T09:00")),
    D1_RECEIVED,  # the same event again: duplicate
    (b"D-BAD", b"{"),  # malformed_json
    _ev(12, "D7", "submitted", "10T14:00", unit_id="qn-nowhere"),  # unknown_unit
]
PROCESSED, DUPLICATE = 9, 1
REJECTED = {"malformed_json": 1, "unknown_unit": 1}
WATERMARK = datetime.fromisoformat(_t("11T10:00")).timestamp()
PROVINCE_TOTALS = {
    "received:online_full": 1,
    "received:in_person": 2,
    "received:postal": 1,
    "received:online_partial": 1,
    "completed:early": 1,
    "completed:on_time": 1,
    "completed:late": 1,
}
#: Province windows at T; 7d, 30d and the calendar windows hold everything.
PROVINCE_WINDOWS = {
    "1h": {"completed:early": 1},
    "today": {"completed:early": 1},
    # (10th 10:00, 11th 10:00]: D3's receipt at 10th 10:00 is just out
    "24h": {
        "received:online_partial": 1,
        "received:in_person": 1,
        "completed:on_time": 1,
        "completed:late": 1,
        "completed:early": 1,
    },
    **{w: PROVINCE_TOTALS for w in ("7d", "30d", "month", "quarter", "year")},
}
COMMUNE_WINDOWS = {
    "1h": {},
    "today": {},
    **{w: {"refused": 1} for w in ("24h", "7d", "30d", "month", "quarter", "year")},
}


def _nonzero(counts: Any) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


@pytest.fixture
def topics(kafka_bootstrap: str, unique_name: str) -> Iterator[tuple[str, str]]:
    """The source topic (3 partitions) and its dead-letter topic, deleted afterwards."""
    topic, dlq = unique_name, f"{unique_name}.dlq"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="ioc-test")
    try:
        admin.create_topics(
            [
                NewTopic(topic, num_partitions=3, replication_factor=1),
                NewTopic(dlq, num_partitions=1, replication_factor=1),
            ]
        )
    finally:
        admin.close()
    try:
        yield topic, dlq
    finally:
        _delete_topics(kafka_bootstrap, topic, dlq)


def _produce(bootstrap: str, topic: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value in MESSAGES:  # one at a time: a dossier's events stay in order
            producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()


def _wait_counted(client: redis.Redis, prefix: str, proc: Any, log: Path) -> Snapshot:
    deadline = time.monotonic() + WAIT_S
    counted = -1
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"ioc worker exited ({proc.returncode}):\n{tail(log)}"
        snap = read_snapshot(client, prefix, "event")
        counted = snap.processed + snap.duplicate + sum(snap.rejected.values())
        if counted >= len(MESSAGES):
            return snap
        time.sleep(0.5)
    raise AssertionError(f"{counted} of {len(MESSAGES)} counted after {WAIT_S:.0f} s:\n{tail(log)}")


def test_kafka_to_worker_to_redis(
    kafka_bootstrap: str,
    redis_url: str,
    redis_prefix: str,
    topics: tuple[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    topic, dlq = topics
    group = f"g-{unique_name}"
    _produce(kafka_bootstrap, topic)
    env = dict(os.environ)
    env.update(
        IOC_KAFKA_BOOTSTRAP=kafka_bootstrap,
        IOC_KAFKA_TOPIC=topic,
        IOC_KAFKA_DLQ_TOPIC=dlq,
        IOC_KAFKA_GROUP=group,
        IOC_REDIS_URL=redis_url,
        IOC_REDIS_PREFIX=redis_prefix,
    )
    log = tmp_path / "worker.log"
    argv = [*IOC, "worker", "--units", str(UNITS_FILE), "--batch", "5", "--loglevel", "info"]
    worker = spawn(argv, log, env=env, cwd=tmp_path)
    client = redis.Redis.from_url(redis_url)
    try:
        snap = _wait_counted(client, redis_prefix, worker, log)
        time.sleep(1.0)  # nothing more may arrive: each message counted exactly once
        snap = read_snapshot(client, redis_prefix, "event")
    finally:
        client.close()
        stop(worker)
        shutil.rmtree(Path(tempfile.gettempdir()) / f"ioc-faust-{group}", ignore_errors=True)

    assert (snap.processed, snap.duplicate) == (PROCESSED, DUPLICATE)
    assert _nonzero(snap.rejected) == REJECTED
    assert snap.watermark == snap.clock == WATERMARK
    assert sorted(snap.units) == sorted([PROVINCE, COMMUNE])
    province, commune = snap.units[PROVINCE], snap.units[COMMUNE]
    assert _nonzero(province.totals) == PROVINCE_TOTALS
    assert (province.in_progress, province.overdue) == (2, 1)  # D3, D6; D6 overdue
    assert _nonzero(commune.totals) == {"refused": 1}
    assert (commune.in_progress, commune.overdue) == (0, 0)
    assert {w: _nonzero(c) for w, c in province.windows.items()} == PROVINCE_WINDOWS
    assert {w: _nonzero(commune.windows.get(w, {})) for w in COMMUNE_WINDOWS} == COMMUNE_WINDOWS
    assert dead_letters(kafka_bootstrap, dlq) == sorted(
        [(b"{", "malformed_json"), (MESSAGES[-1][1], "unknown_unit")]
    )


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
