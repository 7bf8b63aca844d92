"""The KPI agent's dead letters, high-water lookup and seek hook, driven directly."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError
from faust.types import TP

from ioc_monitor.events import Rejection
from streams.dead_letters import DLQ_TRUNCATED_BYTES
from tests.unit.streams.fakes import DLQ_TOPIC, TOPIC, FakeConsumer, FakeTopic, make_agent

REJECTION = Rejection("malformed_json", "not JSON")


def test_dead_letter_carries_reason_detail_and_source() -> None:
    dlq = FakeTopic()
    agent = make_agent(dlq, FakeConsumer())
    asyncio.run(agent.dead_letter(b"D-1", b"{", REJECTION, 2, 17))
    assert dlq.sent == [
        (
            b"D-1",
            b"{",
            [
                ("ioc-reject-reason", b"malformed_json"),
                ("ioc-reject-detail", b"not JSON"),
                ("ioc-source", f"{TOPIC}/2/17".encode()),
            ],
        )
    ]


def test_dead_letter_too_large_is_sent_again_cut_with_its_size() -> None:
    def refuse(value: bytes) -> BaseException | None:
        if len(value) <= DLQ_TRUNCATED_BYTES:
            return None
        err = RuntimeError("send failed")
        err.__cause__ = MessageSizeTooLargeError()
        return err

    dlq = FakeTopic(refuse)
    agent = make_agent(dlq, FakeConsumer())
    value, key = b"x" * (DLQ_TRUNCATED_BYTES + 10), b"k" * 2000
    asyncio.run(agent.dead_letter(key, value, REJECTION, 0, 5))
    [(sent_key, sent_value, headers)] = dlq.sent
    assert sent_key == b"k" * 1024 and sent_value == value[:DLQ_TRUNCATED_BYTES]
    assert headers[-1] == ("ioc-truncated", str(len(value)).encode())


def test_dead_letter_other_failures_propagate() -> None:
    dlq = FakeTopic(lambda _v: PermissionError("topic authorization failed"))
    agent = make_agent(dlq, FakeConsumer())
    try:
        asyncio.run(agent.dead_letter(None, b"{", REJECTION, 0, 0))
    except PermissionError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the failure was swallowed")
    assert dlq.sent == []


def test_highwater_of_the_source_topic_or_none_when_unknown() -> None:
    agent = make_agent(FakeTopic(), FakeConsumer({0: 42}))
    assert agent.highwater(0) == 42
    assert agent.highwater(1) is None


def test_seek_to_state_resumes_after_the_stored_offset() -> None:
    consumer = FakeConsumer()
    agent = make_agent(FakeTopic(), consumer)
    stored = {0: 9, 1: None}

    async def stored_offset(partition: int) -> int | None:
        return stored[partition]

    agent.processor.stored_offset = stored_offset  # type: ignore[method-assign]
    assigned: set[Any] = {TP(TOPIC, 0), TP(TOPIC, 1), TP(DLQ_TOPIC, 0)}
    asyncio.run(agent.seek_to_state(object(), assigned))
    assert consumer.seeks == [(TOPIC, 0, 10)]


def test_a_handled_too_large_send_is_not_reported_but_others_are() -> None:
    import asyncio

    from aiokafka.errors import MessageSizeTooLargeError

    from streams.dead_letters import quiet_handled_sends

    reported: list[dict[str, object]] = []
    loop = asyncio.new_event_loop()
    try:
        loop.default_exception_handler = reported.append  # type: ignore[method-assign]
        never = "FutureMessage exception was never retrieved"
        quiet_handled_sends(loop, {"message": never, "exception": MessageSizeTooLargeError()})
        assert reported == []
        other = {"message": never, "exception": RuntimeError("boom")}
        quiet_handled_sends(loop, other)
        size_elsewhere = {"message": "Task exception", "exception": MessageSizeTooLargeError()}
        quiet_handled_sends(loop, size_elsewhere)
        assert reported == [other, size_elsewhere]
    finally:
        loop.close()
