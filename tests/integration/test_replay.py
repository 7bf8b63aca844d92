"""``ioc replay`` against the local Kafka: every line arrives byte for byte, keyed, in order."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from ioc_monitor.config import KafkaSettings
from ioc_monitor.registry import load_registry
from services.cli.main import main
from services.publisher import dossier_key, ensure_topic
from services.replay import TokenBucket, count_messages, replay
from services.simulate.feed import SimConfig, generate_lines

WAIT_S = 60.0
MALFORMED = (
    b'{"event_id": "cut-1", "dossier_id": "000.00.21.H41-250701-0001", "sta',
    b"\xff\xfe oops",
)


@pytest.fixture
def topic(kafka_bootstrap: str) -> Iterator[str]:
    """A fresh topic name; the topic is deleted after the test if it was created."""
    name = f"ioc-test-replay-{uuid.uuid4().hex[:12]}"
    yield name
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="ioc-test")
    try:
        if name in admin.list_topics():
            admin.delete_topics([name])
    finally:
        admin.close()


def _log(path: Path, dossiers: int = 150) -> list[bytes]:
    """Write a generated log with malformed lines and an empty line; return its messages."""
    lines = list(generate_lines(load_registry(), SimConfig(seed=21, dossiers=dossiers)))
    lines[len(lines) // 3 : len(lines) // 3] = [MALFORMED[0]]
    lines[2 * len(lines) // 3 : 2 * len(lines) // 3] = [MALFORMED[1]]
    path.write_bytes(b"\n".join(lines[:10]) + b"\n\n" + b"\n".join(lines[10:]) + b"\n")
    return lines


def _consume(bootstrap: str, topic: str, expected: int) -> list[tuple[int, bytes | None, bytes]]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=2000,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        got: list[tuple[int, bytes | None, bytes]] = []
        deadline = time.monotonic() + WAIT_S
        while len(got) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                got += [(r.partition, r.key, r.value) for r in records]
        return got
    finally:
        consumer.close()


@pytest.mark.integration
def test_replay_is_byte_identical_keyed_and_ordered(
    kafka_bootstrap: str, topic: str, tmp_path: Path
) -> None:
    settings = KafkaSettings(bootstrap=kafka_bootstrap, topic=topic)
    assert ensure_topic(settings, topic, 3) is True
    assert ensure_topic(settings, topic, 3) is False  # idempotent
    log = tmp_path / "events.jsonl"
    lines = _log(log)
    assert count_messages([log]) == len(lines)

    summary = replay([log], settings, progress=False)
    assert (summary.sent, summary.failed) == (len(lines), 0)
    assert summary.seconds > 0 and summary.rate > 0

    got = _consume(kafka_bootstrap, topic, len(lines))
    assert sorted(v for _, _, v in got) == sorted(lines)  # byte-identical, none lost or extra
    position = {line: i for i, line in enumerate(lines)}
    assert len(position) == len(lines)
    per_partition: dict[int, list[int]] = defaultdict(list)
    per_key: dict[bytes | None, list[int]] = defaultdict(list)
    for partition, key, value in got:
        assert key == dossier_key(value)
        per_partition[partition].append(position[value])
        per_key[key].append(position[value])
    assert all(seq == sorted(seq) for seq in per_partition.values())  # file order kept
    # Keyless lines spread over partitions; each dossier's events stay in order.
    assert all(seq == sorted(seq) for key, seq in per_key.items() if key is not None)
    assert len(per_partition) == 3
    assert {value for _, key, value in got if key is None} == set(MALFORMED)
    some = next(v for _, k, v in got if k is not None)
    assert dossier_key(some) == some.split(b'"dossier_id":"')[1].split(b'"')[0]


@pytest.mark.integration
def test_cli_replay_gz_with_rate_limit(
    kafka_bootstrap: str, topic: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOC_KAFKA_BOOTSTRAP", kafka_bootstrap)
    plain = tmp_path / "events.jsonl"
    lines = _log(plain, dossiers=60)
    gz = tmp_path / "events.jsonl.gz"
    assert main(["simulate", "--seed", "21", "--dossiers", "60", "--out", str(gz)]) == 0
    assert count_messages([gz]) is None  # no ETA for compressed logs
    rate = 400.0
    started = time.monotonic()
    code = main(
        ["replay", str(gz), "--rate", str(rate), "--topic", topic, "--partitions", "2",
         "--no-progress"]
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert code == 0
    n = len(lines) - len(MALFORMED)
    assert elapsed >= (n - rate / 20) / rate * 0.9
    got = _consume(kafka_bootstrap, topic, n)
    assert [v for _, _, v in got if v in MALFORMED] == []
    assert sorted(v for _, _, v in got) == sorted(x for x in lines if x not in MALFORMED)


@pytest.mark.integration
def test_failed_sends_are_counted_and_exit_non_zero(
    kafka_bootstrap: str, topic: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOC_KAFKA_BOOTSTRAP", kafka_bootstrap)
    log = tmp_path / "big.jsonl"
    huge = b'{"dossier_id": "d-1", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    log.write_bytes(b'{"dossier_id": "d-0"}\n' + huge + b"\n")
    settings = KafkaSettings(bootstrap=kafka_bootstrap, topic=topic)
    summary = replay([log], settings, progress=False)
    assert (summary.sent, summary.failed) == (1, 1)
    assert summary.first_error is not None
    assert main(["replay", str(log), "--topic", topic, "--no-progress"]) == 1


def test_token_bucket_holds_the_average_rate() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds + 0.0005  # sleeping always overshoots a little

    bucket = TokenBucket(1000.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5000):
        bucket.take()
    assert now[0] == pytest.approx(5.0, rel=0.02)


def test_dossier_key() -> None:
    assert dossier_key(b'{"dossier_id": "a-1", "x": 1}') == b"a-1"
    assert dossier_key(b'{"dossier_id": "h\\u1ed3"}') == "hồ".encode()
    for raw in (b'{"dossier_id": 7}', b"[1]", b"not json", b'{"x": 1}', b"\xff", b'{"dossier_'):
        assert dossier_key(raw) is None
