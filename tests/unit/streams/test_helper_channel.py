"""The worker ↔ helper channel (real pipes), the helper setting, and the agent with a helper."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import pytest

from ioc_monitor.config import WorkerSettings, load
from ioc_monitor.errors import ConfigError
from streams.channel import Channel, ChannelClosed, Handler, RemoteError
from streams.helper import HelperProcessor
from streams.processor import Record


async def _pair(
    left: dict[str, Handler], right: dict[str, Handler]
) -> tuple[Channel, Channel, list[asyncio.StreamWriter]]:
    a, b = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=a)
    rb, wb = await asyncio.open_connection(sock=b)
    return Channel(ra, wa, left, "right"), Channel(rb, wb, right, "left"), [wa, wb]


def test_calls_both_ways_with_a_call_back_inside_a_handler() -> None:
    async def scenario() -> list[Any]:
        seen: list[Any] = []

        async def dead_letter(key: bytes | None, value: bytes) -> None:
            seen.append((key, value))

        async def process(records: list[list[Any]]) -> list[int]:
            for r in records:  # the handler calls the other side before it answers
                await right.call("dead_letter", r[2], r[3])
            return [len(records), 0]

        left, right, _ = await _pair({"dead_letter": dead_letter}, {"process": process})
        big = b"\x00\xff" * 300_000  # a frame of 600 kB
        got = await left.call("process", [[0, 7, None, b"a"], [1, 8, b"k", big]])
        left.close()
        right.close()
        return [got, seen]

    got, seen = asyncio.run(scenario())
    assert got == [2, 0]
    assert seen == [(None, b"a"), (b"k", b"\x00\xff" * 300_000)]


def test_requests_are_handled_concurrently_and_answered_as_they_finish() -> None:
    """The first request waits for the second: served one at a time, it never would."""

    async def scenario() -> list[Any]:
        second_ran = asyncio.Event()
        finished: list[str] = []

        async def first() -> str:
            await asyncio.wait_for(second_ran.wait(), 5)
            finished.append("first")
            return "first"

        async def second() -> str:
            second_ran.set()
            finished.append("second")
            return "second"

        left, right, _ = await _pair({}, {"first": first, "second": second})
        got = await asyncio.gather(left.call("first"), left.call("second"))
        left.close()
        right.close()
        return [got, finished]

    got, finished = asyncio.run(scenario())
    assert got == ["first", "second"]  # each caller gets its own answer
    assert finished == ["second", "first"]


def test_a_failed_handler_and_an_unknown_op_are_remote_errors() -> None:
    async def scenario() -> list[str]:
        async def bad(x: int) -> None:
            raise ValueError(f"no {x}")

        left, right, _ = await _pair({}, {"bad": bad})
        errors = []
        for op in ("bad", "nope"):
            with pytest.raises(RemoteError) as info:
                await left.call(op, 3)
            errors.append(str(info.value))
        left.close()
        right.close()
        return errors

    errors = asyncio.run(scenario())
    assert errors == [
        "right: bad: ValueError: no 3",
        "right: nope: LookupError: no handler for 'nope'",
    ]


def test_the_other_side_going_away_fails_waiting_and_later_calls() -> None:
    async def scenario() -> list[str]:
        gate = asyncio.Event()

        async def hang() -> None:
            await gate.wait()

        left, right, _ = await _pair({}, {"hang": hang})
        waiting = asyncio.ensure_future(left.call("hang"))
        await asyncio.sleep(0.05)
        right.close()  # the other side closes its end
        errors = []
        with pytest.raises(ChannelClosed) as info:
            await asyncio.wait_for(waiting, 5)
        errors.append(str(info.value))
        with pytest.raises(ChannelClosed) as info:
            await left.call("hang")
        errors.append(str(info.value))
        assert left.closed.is_set()
        return errors

    assert asyncio.run(scenario()) == ["right went away", "right went away"]


def test_a_helper_that_exits_fails_the_worker_s_calls_with_its_status() -> None:
    async def scenario() -> str:
        async def unused(*_: Any) -> None:
            raise AssertionError("no dead letter expected")

        helper = HelperProcessor(
            ["u"], unused, lambda p: None, argv=[sys.executable, "-c", "raise SystemExit(3)"]
        )
        with pytest.raises(ChannelClosed) as info:
            await helper.process([Record(0, 0, None, b"{}")])
        with pytest.raises(ChannelClosed):
            await helper.stored_offset(0)
        return str(info.value)

    assert asyncio.run(scenario()) == "the helper process exited with status 3"


@pytest.mark.parametrize(
    ("value", "cpus", "expected"),
    [
        (None, 1, False),
        (None, 2, True),
        (None, None, False),
        ("auto", 8, True),
        ("1", 1, True),
        ("0", 8, False),
    ],
)
def test_the_helper_setting(
    value: str | None, cpus: int | None, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv("IOC_WORKER_HELPER", raising=False)
    else:
        monkeypatch.setenv("IOC_WORKER_HELPER", value)
    assert load(WorkerSettings).use_helper(cpus) is expected


def test_a_bad_helper_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_WORKER_HELPER", "yes")
    with pytest.raises(ConfigError, match="IOC_WORKER_HELPER"):
        load(WorkerSettings)


class _Message:
    """A Faust message: ``incref`` and ``ack`` as faust.types.tuples.Message counts them."""

    def __init__(self, partition: int, offset: int, acks: list[tuple[int, int]]) -> None:
        self.partition, self.offset, self.key, self.value = partition, offset, b"k", b"{}"
        self.refcount = 1
        self._acks = acks

    def incref(self) -> None:
        self.refcount += 1

    def ack(self, consumer: Any) -> bool:
        self.refcount -= 1
        if self.refcount == 0:
            self._acks.append((self.partition, self.offset))  # the final one: committable
        return self.refcount == 0


class _AckingStream:
    """``take_events`` that, like Faust's, acknowledges a batch when the body yields."""

    def __init__(self, batches: list[list[_Message]], log: list[str]) -> None:
        self._batches, self._log = batches, log

    async def take_events(self, _n: int, within: float) -> Any:
        from types import SimpleNamespace

        for i, batch in enumerate(self._batches):
            await asyncio.sleep(0.01)  # the batch fills
            self._log.append(f"take {i}")
            yield [SimpleNamespace(message=m) for m in batch]
            for m in batch:
                m.ack(None)


def test_with_the_helper_the_next_batch_is_taken_while_one_is_in_flight() -> None:
    from tests.unit.streams.fakes import FakeConsumer, FakeTopic, make_agent

    log: list[str] = []
    acks: list[tuple[int, int]] = []

    async def scenario() -> None:
        agent = make_agent(FakeTopic(), FakeConsumer(), helper=True)
        busy = [0]

        async def process(records: Any) -> None:
            busy[0] += 1
            assert busy[0] == 1  # at most one batch in flight
            log.append(f"start {records[0].offset}")
            await asyncio.sleep(0.05)
            log.append(f"end {records[0].offset} acked {sorted(acks)}")
            busy[0] -= 1

        agent.processor.process = process  # type: ignore[method-assign]
        batches = [
            [_Message(0, 0, acks), _Message(1, 5, acks), _Message(0, 1, acks)],
            [_Message(0, 2, acks)],
        ]
        async for _ in agent.run(_AckingStream(batches, log)):
            pass

    asyncio.run(scenario())
    assert log == [
        "take 0", "start 0",
        "take 1", "end 0 acked []",  # batch 0 held: nothing of it committable
        "start 2", "end 2 acked [(0, 0), (0, 1), (1, 5)]",  # batch 0 committed: released
    ]  # fmt: skip
    assert sorted(acks) == [(0, 0), (0, 1), (0, 2), (1, 5)]


def test_with_the_helper_a_failed_batch_in_flight_fails_the_agent_at_once() -> None:
    from tests.unit.streams.fakes import FakeConsumer, FakeTopic, make_agent

    seen: list[BaseException] = []
    acks: list[tuple[int, int]] = []

    class Quiet:
        """One batch, then a quiet stream (the failure must not wait for a next batch)."""

        async def take_events(self, _n: int, within: float) -> Any:
            from types import SimpleNamespace

            message = _Message(0, 0, acks)
            yield [SimpleNamespace(message=message)]
            message.ack(None)
            await asyncio.sleep(3600)

    async def scenario() -> None:
        agent = make_agent(FakeTopic(), FakeConsumer(), helper=True, on_failure=seen.append)

        async def process(records: Any) -> None:
            raise ValueError("the helper process exited with status -9")

        agent.processor.process = process  # type: ignore[method-assign]

        async def drive() -> None:
            async for _ in agent.run(Quiet()):
                pass

        task = asyncio.ensure_future(drive())
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(scenario())
    assert [str(e) for e in seen] == ["the helper process exited with status -9"]
    assert acks == []  # the failed batch's first message is never acknowledged
