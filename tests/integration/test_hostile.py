"""Hostile input through the real pipeline, and label safety.

- A crafted log (truncated JSON, wrong types, huge strings, invalid UTF-8, 1 MB
  payloads, deep nesting, timestamps without offsets, absurd years, plus valid
  events) goes through replay → worker on a private broker configured like the local
  stack (``message.max.bytes`` 2 MiB): the worker never crashes, every bad message is in
  the dead-letter topic once with the expected ``ioc-reject-reason`` header, and
  processed + rejected + duplicate equals the messages sent; the exposition equals
  ``ioc kpi`` on the same log.
- A flood of events for unknown units and odd ``unit_id`` strings creates no metric
  series: ``unit`` labels stay within the registry and the series set does not change.

Every expected reason below is written by hand from EVENTS.md and the README's
interpretations, not computed by the parser under test.
"""

from __future__ import annotations

import base64
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ioc_monitor.config import StackSettings
from ioc_monitor.registry import load_registry
from services.publisher import client_options
from services.stack.control import ServiceStatus
from tests.integration.pipeline import samples
from tests.integration.private_stack import (
    PrivateKafka,
    PrivatePipeline,
    scrape,
    stack_jars,
    wait_for,
)

pytestmark = pytest.mark.integration

#: The dead-letter topic of the hostile test refuses records over this size (a topic
#: setting), so one message the source topic takes cannot be dead-lettered whole.
DLQ_MAX_MESSAGE_BYTES = 1_500_000
TRUNCATED_BYTES = 64 * 1024
UNIT = "qn-ttpvhcc"


@pytest.fixture(scope="module")
def private_kafka(
    stack: list[ServiceStatus],
    stack_settings: StackSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PrivateKafka]:
    """A broker rendered by the local stack's own server.properties (2 MiB messages)."""
    broker = PrivateKafka(
        tmp_path_factory.mktemp("kafka"), stack_jars(stack_settings), stack_settings.kafka_version
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# --- the crafted log -----------------------------------------------------------------------


def _event(i: int, **fields: Any) -> dict[str, Any]:
    """A valid ``received`` event of the provincial centre; ``None`` removes a field."""
    doc: dict[str, Any] = {
        "event_id": f"hostile-{i}",
        "dossier_id": f"H-{i}",
        "unit_id": UNIT,
        "status": "received",
        "occurred_at": "2025-07-10T09:00:00+07:00",
        "received_at": "2025-07-10T09:00:00+07:00",
        "due_at": "2025-07-15T17:00:00+07:00",
        "channel": "online",
        "online_mode": "full",
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def _line(i: int, **fields: Any) -> bytes:
    return orjson.dumps(_event(i, **fields))


def _nested_line(i: int, depth: int) -> bytes:
    """A valid event with an unknown field nested ``depth`` arrays deep."""
    nested = b"[" * depth + b'"bottom"' + b"]" * depth
    return _line(i, extra="@nested@").replace(b'"@nested@"', nested)


def _padded(i: int, size: int, rng: random.Random) -> bytes:
    """A JSON object of exactly ``size`` bytes with an incompressible pad."""
    head = b'{"event_id":"big-%d","dossier_id":"BIG-%d","pad":"' % (i, i)
    pad = base64.b64encode(rng.randbytes(size))[: size - len(head) - 2]
    body = head + pad + b'"}'
    assert len(body) == size
    return body


def hostile_messages(valid: bytes) -> list[tuple[bytes, str | None]]:
    """(message, expected rejection reason or None when accepted)."""
    rng = random.Random(61)
    ok = None
    cases: list[tuple[bytes, str | None]] = [
        # truncated JSON
        (valid[: len(valid) // 2], "malformed_json"),
        (b'{"event_id": "t-1", "dossier_id": "T-1", ', "malformed_json"),
        (b'{"event_id": "t-2", "status": 2', "malformed_json"),
        # not a JSON object, or not JSON at all
        (b"[]", "malformed_json"),
        (b'"only a string"', "malformed_json"),
        (b"null", "malformed_json"),
        (b"123456", "malformed_json"),
        (b"NaN", "malformed_json"),
        (b"1e400", "malformed_json"),
        (b"\x00\x01\x02 binary \xff", "malformed_json"),
        # invalid UTF-8, BOM, lone surrogate
        (_line(1, applicant_name="x").replace(b'"x"', b'"\xff\xfe\xfd"'), "malformed_json"),
        (b"\xef\xbb\xbf" + _line(2), "malformed_json"),
        (_line(3, note="x").replace(b'"x"', b'"\\ud800"'), "malformed_json"),
        # wrong types
        (_line(10, status=2.5), "schema"),
        (_line(11, status=True), "schema"),
        (_line(12, status=[2]), "schema"),
        (_line(13, event_id=123), "schema"),
        (_line(14, dossier_id={"id": "x"}), "schema"),
        (_line(15, unit_id=42), "schema"),
        (_line(16, occurred_at=1751335200), "schema"),
        (_line(17, channel=["online"]), "schema"),
        (_line(18, supplements={"requested_at": "2025-07-10T09:00:00+07:00"}), "schema"),
        (_line(19, supplements=[1, 2]), "schema"),
        (_line(20, visits=-1), "schema"),
        (_line(21, visits=1.5), "schema"),
        (_line(22, apology="yes"), "schema"),
        (_line(23, online_mode="half"), "schema"),
        (_line(24, unit_id=None), "schema"),
        (_line(25, occurred_at=None), "schema"),
        (b"{}", "schema"),
        # huge strings (under the 64 KiB message limit)
        (_line(30, event_id="e" * 129), "schema"),
        (_line(31, dossier_id="d" * 65), "schema"),
        (_line(32, unit_id="u" * 50_000), "schema"),
        (_line(33, procedure_code="p" * 33), "schema"),
        (_line(34, occurred_at="2025-07-10T09:00:00" + "0" * 40_000 + "+07:00"), "schema"),
        (_line(35, comment="x" * 50_000), ok),  # unknown field: dropped, event accepted
        # too large: over 64 KiB, 1 MB, 1 MiB, and one the dead-letter topic refuses whole
        (_line(40, comment="x" * 70_000), "too_large"),
        (_padded(41, 1_000_000, rng), "too_large"),
        (_padded(42, 1024 * 1024, rng), "too_large"),
        (_padded(43, 1_800_000, rng), "too_large"),
        # deep nesting: past the JSON decoder's depth limit (1024), and within it
        (b"[" * 50_000, "malformed_json"),
        (b"[" * 5_000 + b"]" * 5_000, "malformed_json"),
        (_nested_line(50, 1_500), "malformed_json"),
        (_nested_line(51, 200), ok),
        # timestamps without offsets, malformed, impossible, absurd years
        (_line(60, occurred_at="2025-07-10T09:00:00"), "schema"),
        (_line(61, occurred_at="2025-07-10 09:00:00+0700"), "schema"),
        (_line(62, occurred_at="10/07/2025 09:00"), "schema"),
        (_line(63, occurred_at="2025-02-30T09:00:00+07:00"), "schema"),
        (_line(64, occurred_at="2025-07-10T24:00:00+07:00"), "schema"),
        (_line(65, occurred_at="2025-07-10T09:00:00+24:00"), "schema"),
        (_line(66, occurred_at="9999-12-31T23:59:59Z"), "schema"),
        (_line(67, occurred_at="0001-01-01T00:00:00Z"), "schema"),
        (_line(68, occurred_at="1969-12-31T23:59:59Z"), "schema"),
        (_line(69, due_at="2100-01-01T00:00:00+07:00"), "schema"),
        (_line(70, occurred_at="2025-07-10t02:00:00.123456789z"), ok),
        # unknown status / unit, times out of order
        (_line(80, status=0), "unknown_status"),
        (_line(81, status=11), "unknown_status"),
        (_line(82, status="closed"), "unknown_status"),
        (_line(83, unit_id="no-such-unit"), "unknown_unit"),
        (_line(84, unit_id=UNIT.upper()), "unknown_unit"),
        (_line(85, due_at="2025-07-09T17:00:00+07:00"), "invalid_times"),
        # odd but valid
        (_line(90, event_id="nul\u0000id", dossier_id="ĐỒNG-Ω-\u202e"), ok),
        (orjson.dumps({"status": 1, **_event(91, status=None)}), ok),
    ]
    bodies = [body for body, _ in cases]
    assert len(set(bodies)) == len(bodies) and not any(b"\n" in b for b in bodies)
    return cases


def _dlq_records(p: PrivatePipeline, broker: PrivateKafka, count: int) -> list[Any]:
    """Every record of the pipeline's dead-letter topic (waits until ``count`` arrived)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        f"{p.topic}.dlq",
        **client_options(broker.settings()),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
        consumer_timeout_ms=2000,
    )
    records: list[Any] = []
    deadline = time.monotonic() + 120
    try:
        while len(records) < count and time.monotonic() < deadline:
            records.extend(consumer)  # stops after 2 s without a record
        time.sleep(1.0)
        records.extend(consumer)  # nothing more should come
    finally:
        consumer.close()
    return records


def test_hostile_log_through_the_pipeline(
    private_kafka: PrivateKafka, redis_url: str, unique_name: str, tmp_path: Path
) -> None:
    p = PrivatePipeline(unique_name, private_kafka.bootstrap, redis_url, tmp_path)
    try:
        _run_hostile(p, private_kafka)
    finally:
        p.stop()
        p.clean_redis()


def _run_hostile(p: PrivatePipeline, broker: PrivateKafka) -> None:
    from kafka import KafkaAdminClient

    base = p.workdir / "valid.jsonl"
    p.run("simulate", "--seed", "62", "--dossiers", "150", "--out", str(base))
    valid = [line for line in base.read_bytes().split(b"\n") if line]
    cases = hostile_messages(valid[0])
    lines = list(valid)
    for i, (body, _) in enumerate(cases):  # spread the hostile lines over the log
        lines.insert((i * 7) % len(lines), body)
    lines.append(valid[5])  # one exact duplicate
    log = p.workdir / "hostile.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    expected_reasons = Counter(reason for _, reason in cases if reason is not None)
    rejected = sum(expected_reasons.values())

    admin = KafkaAdminClient(**client_options(broker.settings()))
    try:
        admin.create_topics(
            {
                p.topic: {"num_partitions": 3, "replication_factor": 1},
                f"{p.topic}.dlq": {
                    "num_partitions": 1,
                    "replication_factor": 1,
                    "configs": {"max.message.bytes": str(DLQ_MAX_MESSAGE_BYTES)},
                },
            },
            wait_for_metadata=True,
        )
    finally:
        admin.close()
    worker = p.start("worker", "--batch", "100", log="worker.log")
    p.run("replay", str(log), "--max", "--no-progress")
    p.wait_counted(len(lines))
    time.sleep(1.0)
    processed, duplicate, rejected_now = p.snapshot_counts()
    assert (processed, duplicate, rejected_now) == (len(lines) - rejected - 1, 1, rejected)
    assert processed + duplicate + rejected_now == len(lines)
    assert worker.poll() is None, "the worker crashed"
    worker_log = (p.workdir / "worker.log").read_text(errors="replace")
    assert "Traceback" not in worker_log and "Crashed" not in worker_log, worker_log[-3000:]

    # Dead letters: each bad message once, with its reason; no valid one.
    by_body = {body: reason for body, reason in cases if reason is not None}
    truncated = {body[:TRUNCATED_BYTES]: body for body in by_body if len(body) > 1_400_000}
    records = _dlq_records(p, broker, rejected)
    seen: Counter[bytes] = Counter()
    cut = 0
    for record in records:
        headers = {k: v for k, v in record.headers}
        original = record.value
        if "ioc-truncated" in headers:
            cut += 1
            original = truncated[record.value]
            assert int(headers["ioc-truncated"]) == len(original)
        assert original in by_body, f"unexpected dead letter {record.value[:80]!r}"
        assert headers["ioc-reject-reason"].decode() == by_body[original], original[:120]
        assert headers["ioc-reject-detail"]
        assert headers["ioc-source"].startswith(f"{p.topic}/".encode())
        seen[original] += 1
    assert set(seen) == set(by_body), "bad messages missing from the dead-letter topic"
    assert max(seen.values()) == 1 and len(records) == rejected
    assert Counter(by_body[b] for b in seen) == expected_reasons
    assert cut == len(truncated) == 1, "the too-large dead letter was not cut"

    # The figures equal `ioc kpi` on the same log.
    got = samples(scrape(p.start_exporter("event")))
    assert got == p.expected(log)
    for reason, n in expected_reasons.items():
        assert f'ioc_events_rejected_total{{reason="{reason}"}} {float(n)}' in got


# --- label safety ------------------------------------------------------------------------


ODD_UNITS = (
    UNIT + " ",
    " " + UNIT,
    UNIT.upper(),
    UNIT + "\n",
    UNIT + "\u0000",
    UNIT + '"}',
    'x",unit="' + UNIT,
    '{unit="qn-ttpvhcc"} 1\nioc_fake_total',
    "\u202e" + UNIT,
    "ｑｎ-ｔｔｐｖｈｃｃ",
    "qn-ttpvhcc\\",
    "../../etc/passwd",
    "Đồng Đăng 🏛",
    "a" * 64,
    "*",
    "${jndi:ldap://x}",
)


def _series(exposition: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """(sample name, sorted labels) of every KPI sample (live-only series left out)."""
    out = []
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if not s.name.startswith(("ioc_exporter_", "ioc_consumer_lag", "ioc_last_event")):
                out.append((s.name, tuple(sorted(s.labels.items()))))
    return sorted(out)


def flood_messages(n: int) -> tuple[list[bytes], Counter[str]]:
    """Events for unknown units and odd unit ids, and their expected reasons."""
    lines: list[bytes] = []
    reasons: Counter[str] = Counter()
    for i in range(n):
        if i % 3 == 0:
            unit = ODD_UNITS[(i // 3) % len(ODD_UNITS)]
        else:
            unit = f"flood-unit-{i}"  # a new id each time: a cardinality attack
        lines.append(_line(10_000 + i, unit_id=unit, dossier_id=f"F-{i}"))
        reasons["unknown_unit"] += 1
    for i, unit in enumerate(("", "b" * 65, "c" * 5_000)):  # not 1–64 characters
        lines.append(_line(20_000 + i, unit_id=unit))
        reasons["schema"] += 1
    return lines, reasons


def test_unknown_and_odd_units_create_no_series(
    kafka_bootstrap: str, redis_url: str, unique_name: str, tmp_path: Path
) -> None:
    p = PrivatePipeline(unique_name, kafka_bootstrap, redis_url, tmp_path)
    try:
        _run_flood(p)
    finally:
        p.stop()
        p.clean_redis()


def _run_flood(p: PrivatePipeline) -> None:
    registry = load_registry(None).ids
    base = p.workdir / "base.jsonl"
    p.run("simulate", "--seed", "63", "--dossiers", "300", "--out", str(base))
    n_base = sum(1 for line in base.read_bytes().split(b"\n") if line)
    p.start("worker", log="worker.log")
    p.run("replay", str(base), "--max", "--partitions", "3", "--no-progress")
    p.wait_counted(n_base)
    url = p.start_exporter("event")
    before = scrape(url)

    flood, reasons = flood_messages(3_000)
    flood_log = p.workdir / "flood.jsonl"
    flood_log.write_bytes(b"\n".join(flood) + b"\n")
    p.run("replay", str(flood_log), "--max", "--no-progress")
    p.wait_counted(n_base + len(flood))
    wait_for(lambda: p.counted() == n_base + len(flood), "every flood message counted")
    after = scrape(url)

    series_before, series_after = _series(before), _series(after)
    assert series_after == series_before, "the flood created or removed series"
    units = {dict(labels)["unit"] for _, labels in series_after if "unit" in dict(labels)}
    assert units and units <= set(registry)
    assert "ioc_fake_total" not in after
    assert samples(after) == p.expected(base, flood_log)
    rejected_before, rejected_after = _rejected(before), _rejected(after)
    for reason, count in rejected_after.items():
        assert count == rejected_before.get(reason, 0.0) + reasons.get(reason, 0)


def _rejected(exposition: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == "ioc_events_rejected_total":
                out[s.labels["reason"]] = s.value
    return out
