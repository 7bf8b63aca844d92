"""The worker's lean Faust extension points (streams.lean).

``RawSchema`` must give exactly what Faust's own ``bytes``/``raw`` schema gives (the
message's bytes, unchanged, ``None`` keys kept), and ``LeanMonitor`` must keep the one
field Faust's consumer reads (``stream_inbound_time``) while counting nothing.
"""

from __future__ import annotations

from typing import Any

import faust
import pytest
from faust.types import TP, Message

from streams.lean import LeanMonitor, RawSchema

TP0 = TP("ioc-events", 0)


def _message(key: bytes | None, value: bytes) -> Message:
    return Message(
        topic="ioc-events",
        partition=0,
        offset=7,
        timestamp=1_700_000_000.0,
        timestamp_type=0,
        headers=[],
        key=key,
        value=value,
        checksum=None,
    )


PAYLOADS: list[tuple[bytes | None, bytes]] = [
    (b"QN-01", b'{"event_id": "e1"}'),
    (None, b'{"event_id": "e2"}'),
    (b"", b""),
    (b"\xff\xfe", b"\xff\xfe not utf-8 and not JSON"),
    (b"k", b"[1, 2, 3]"),
]


@pytest.fixture(scope="module")
def app() -> Any:
    return faust.App("ioc-test-lean", broker="kafka://127.0.0.1:1")


@pytest.mark.parametrize(("key", "value"), PAYLOADS)
def test_raw_schema_returns_the_message_bytes_unchanged(
    app: Any, key: bytes | None, value: bytes
) -> None:
    message = _message(key, value)
    schema = RawSchema()
    assert schema.loads_key(app, message) is message.key
    assert schema.loads_value(app, message) is message.value


@pytest.mark.parametrize(("key", "value"), PAYLOADS)
def test_raw_schema_equals_fausts_bytes_raw_schema(
    app: Any, key: bytes | None, value: bytes
) -> None:
    faust_own = faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    ours = RawSchema()
    message = _message(key, value)
    assert ours.loads_key(app, message) == faust_own.loads_key(app, message)
    assert ours.loads_value(app, message) == faust_own.loads_value(app, message)
    assert (ours.key_type, ours.value_type) == (bytes, bytes)
    assert (ours.key_serializer, ours.value_serializer) == ("raw", "raw")


def test_raw_schema_topic_keeps_bytes_types(app: Any) -> None:
    topic = app.topic("ioc-events", schema=RawSchema())
    assert topic.key_type is bytes
    assert topic.value_type is bytes


def test_lean_monitor_notes_inbound_time_per_partition_and_counts_nothing() -> None:
    monitor = LeanMonitor()
    message = _message(b"k", b"v")
    monitor.on_message_in(TP0, 7, message)
    state = monitor.on_stream_event_in(TP0, 7, object(), object())
    first = monitor.stream_inbound_time[TP0]
    monitor.on_stream_event_out(TP0, 7, object(), object(), state)
    monitor.on_message_out(TP0, 7, message)
    monitor.on_stream_event_in(TP0, 8, object(), object())

    assert state is None
    assert monitor.stream_inbound_time[TP0] >= first > 0
    assert list(monitor.stream_inbound_time) == [TP0]
    assert monitor.messages_received_total == 0
    assert monitor.messages_active == 0
    assert monitor.events_total == 0
    assert monitor.events_active == 0
    assert not monitor.messages_received_by_topic
    assert not monitor.tp_read_offsets
    assert not monitor.events_runtime
    assert message.time_in is None
    assert message.time_out is None


def test_lean_monitor_is_fausts_monitor_for_everything_else() -> None:
    monitor = LeanMonitor()
    assert isinstance(monitor, faust.Sensor)
    monitor.on_topic_buffer_full(TP0)
    assert monitor.topic_buffer_full[TP0] == 1
