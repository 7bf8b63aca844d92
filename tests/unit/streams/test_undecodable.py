"""A fetched batch the worker cannot decode stalls its partition, not the worker.

:func:`streams.fast_consumer.fetched_records` is driven on real aiokafka record batches
(built with aiokafka's own builder, an lz4 batch made undecodable by reporting the lz4
codec missing, as a missing library does), a real ``SubscriptionState`` and a fake of
the few fetcher attributes it reads; :class:`IocConsumerThread` on a fake aiokafka
consumer; the Redis note of the stall on a fake Redis.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

import aiokafka.codec
import pytest
from aiokafka.consumer.fetcher import Fetcher, FetchResult, PartitionRecords
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.errors import CorruptRecordException, UnsupportedCodecError
from aiokafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from ioc_monitor.collector import render_snapshot
from ioc_monitor.registry import load_registry
from ioc_monitor.snapshot import Snapshot
from streams.fast_consumer import IocConsumer, IocConsumerThread, Stalls, fetched_records
from streams.processor import BatchProcessor
from tests.unit.streams.fakes import TOPIC, FakeConsumer, FakeTopic, make_agent

LZ4 = DefaultRecordBatch.CODEC_LZ4
TP0 = TopicPartition(TOPIC, 0)
TP1 = TopicPartition(TOPIC, 1)
_HAS_LZ4 = aiokafka.codec.has_lz4


def batch(base: int, n: int, codec: int = 0) -> bytes:
    """A v2 record batch of ``n`` records from offset ``base``."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=codec,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    for i in range(n):
        builder.append(i, timestamp=1000, key=b"k", value=b"v%d" % (base + i), headers=[])
    with mock.patch.object(aiokafka.codec, "has_lz4", _HAS_LZ4):  # the producer has it
        raw = bytearray(builder.build())
    raw[0:8] = struct.pack(">q", base)  # base offset
    return bytes(raw)


@pytest.fixture
def no_lz4(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The lz4 library reported missing, as aiokafka sees it when it is not installed."""
    monkeypatch.setattr(aiokafka.codec, "has_lz4", lambda: False)
    yield


class FakeFetcher:
    """The attributes of aiokafka's Fetcher that ``fetched_records`` reads."""

    def __init__(self, subscriptions: SubscriptionState) -> None:
        self._records: dict[Any, Any] = {}
        self._subscriptions = subscriptions
        self._wait_consume_future = None
        self._closed = False
        self.notified = 0
        self.error_future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def _notify(self, _future: Any) -> None:
        self.notified += 1

    def buffer(self, tp: TopicPartition, raw: bytes) -> None:
        """Buffer a fetch response of ``tp`` from its current position, as aiokafka does."""
        assignment = self._subscriptions.subscription.assignment
        position = assignment.state_value(tp).position
        records = PartitionRecords(tp, MemoryRecords(raw), [], position, None, None, True, 0)
        self._records[tp] = FetchResult(
            tp, assignment=assignment, partition_records=records, backoff=0
        )


def assigned(*tps: TopicPartition) -> tuple[SubscriptionState, FakeFetcher]:
    """A subscription assigned ``tps`` (each at offset 0) and a fetcher over it."""
    subscriptions = SubscriptionState()
    subscriptions.assign_from_user(set(tps))
    for tp in tps:
        subscriptions.subscription.assignment.state_value(tp).seek(0)
    return subscriptions, FakeFetcher(subscriptions)


def offsets(got: dict[Any, list[Any]]) -> dict[int, list[int]]:
    return {tp.partition: [m.offset for m in msgs] for tp, msgs in got.items()}


def position(subscriptions: SubscriptionState, tp: TopicPartition) -> int:
    return int(subscriptions.subscription.assignment.state_value(tp).position)


def test_records_before_the_bad_batch_are_delivered_and_the_position_stays_at_it(
    no_lz4: None,
) -> None:
    async def main() -> None:
        subs, fetcher = assigned(TP0, TP1)
        fetcher.buffer(TP0, batch(0, 3) + batch(3, 2, LZ4) + batch(5, 1))
        fetcher.buffer(TP1, batch(0, 4))
        errors: list[tuple[Any, int, BaseException]] = []
        got = await fetched_records(fetcher, {TP0, TP1}, 0, None, lambda *e: errors.append(e))
        assert offsets(got) == {0: [0, 1, 2], 1: [0, 1, 2, 3]}
        [(tp, offset, exc)] = errors
        assert (tp, offset) == (TP0, 3) and isinstance(exc, UnsupportedCodecError)
        assert position(subs, TP0) == 3  # nothing skipped: the next fetch starts there
        assert position(subs, TP1) == 4
        assert fetcher._records == {}  # the failed result is dropped, fetched again

    asyncio.run(main())


def test_without_a_handler_the_error_is_raised_as_aiokafka_does(no_lz4: None) -> None:
    async def main() -> None:
        _, fetcher = assigned(TP0)
        fetcher.buffer(TP0, batch(0, 2, LZ4))
        with pytest.raises(UnsupportedCodecError):
            await fetched_records(fetcher, {TP0}, 0, None)

    asyncio.run(main())


def test_a_bad_crc_stalls_its_partition_at_the_batch() -> None:
    async def main() -> None:
        subs, fetcher = assigned(TP0)
        bad = bytearray(batch(2, 2))
        bad[-1] ^= 0xFF  # the payload no longer matches the batch CRC
        fetcher.buffer(TP0, batch(0, 2) + bytes(bad))
        errors: list[tuple[Any, int, BaseException]] = []
        got = await fetched_records(fetcher, {TP0}, 0, None, lambda *e: errors.append(e))
        assert offsets(got) == {0: [0, 1]}
        [(_, offset, exc)] = errors
        assert offset == 2 and isinstance(exc, CorruptRecordException)
        assert position(subs, TP0) == 2

    asyncio.run(main())


class _StaleKeys(dict[Any, Any]):
    """A buffer whose ``keys()`` still lists a result removed meanwhile (the race)."""

    def __init__(self, stale: Any, *args: Any) -> None:
        super().__init__(*args)
        self._stale = stale

    def keys(self) -> Any:
        return [self._stale, *super().keys()]


def test_a_result_gone_since_the_keys_were_listed_is_skipped() -> None:
    """aiokafka's own method raises ``KeyError(TopicPartition)`` there; ours goes on."""

    async def main() -> None:
        _, fetcher = assigned(TP0, TP1)
        fetcher.buffer(TP1, batch(0, 2))
        fetcher._records = _StaleKeys(TP0, fetcher._records)
        with pytest.raises(KeyError):
            await Fetcher.fetched_records(fetcher, {TP0, TP1}, 0)  # type: ignore[arg-type]
        fetcher.buffer(TP1, batch(2, 2))
        got = await fetched_records(fetcher, {TP0, TP1}, 0, None, lambda *_: None)
        assert offsets(got) == {1: [2, 3]}

    asyncio.run(main())


def test_stalls_log_once_a_period_and_are_retried_once_a_period() -> None:
    now = [0.0]
    stalls = Stalls(retry_every=60.0, clock=lambda: now[0])
    assert not stalls
    assert stalls.stall(TP0, 5) is True
    now[0] = 10.0
    assert stalls.stall(TP0, 5) is False  # failed again within the minute: no new log
    assert stalls.due() == []
    now[0] = 70.0
    assert stalls.due() == [TP0]
    assert stalls.due() == []  # the next retry a period later
    assert stalls.stall(TP0, 5) is True  # the retry failed: logged, a minute on
    assert stalls.stall(TP0, 9) is True  # a new offset is news
    assert stalls.moved(TP0) == 9
    assert not stalls and stalls.moved(TP0) is None


class FakeKafkaConsumer:
    """What ``IocConsumerThread._fetch_records`` uses of aiokafka's consumer."""

    def __init__(self, fetcher: FakeFetcher, *tps: TopicPartition) -> None:
        self._fetcher = fetcher
        self._closed = False
        self._assigned = set(tps)
        self.calls: list[tuple[str, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self._assigned

    def pause(self, tp: TopicPartition) -> None:
        self.calls.append(("pause", tp.partition))
        self._fetcher._subscriptions.pause(tp)

    def resume(self, tp: TopicPartition) -> None:
        self.calls.append(("resume", tp.partition))
        self._fetcher._subscriptions.resume(tp)


def _thread(now: list[float], heard: list[tuple[Any, int, str]]) -> Any:
    """An ``IocConsumerThread`` without Faust: its main consumer and stalls only."""
    thread: Any = IocConsumerThread.__new__(IocConsumerThread)
    main = SimpleNamespace(
        flow_active=True,
        loop=asyncio.get_running_loop(),
        partition_stalled=lambda *args: heard.append(args),
    )
    thread.consumer = main
    thread.stalls = Stalls(retry_every=60.0, clock=lambda: now[0])
    return thread


def test_the_consumer_thread_pauses_logs_retries_and_resumes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "streams.fast_consumer")
    codec_ok = [False]
    monkeypatch.setattr(aiokafka.codec, "has_lz4", lambda: codec_ok[0])

    async def main() -> tuple[list[tuple[Any, int, str]], list[tuple[str, int]]]:
        now = [0.0]
        heard: list[tuple[Any, int, str]] = []
        thread = _thread(now, heard)
        _, fetcher = assigned(TP0, TP1)
        consumer = FakeKafkaConsumer(fetcher, TP0, TP1)
        fetcher.buffer(TP0, batch(0, 2) + batch(2, 3, LZ4))
        fetcher.buffer(TP1, batch(0, 1))
        got = await thread._fetch_records(consumer, {TP0, TP1}, timeout=0)
        assert offsets(got) == {0: [0, 1], 1: [0]}
        await asyncio.sleep(0)  # the main-thread hook runs on its loop
        assert consumer.calls == [("pause", 0)]
        now[0] = 30.0  # no retry before the period is over
        assert await thread._fetch_records(consumer, {TP0, TP1}, timeout=0) == {}
        now[0] = 61.0  # retried: resumed, fetched again, still undecodable: logged again
        await thread._fetch_records(consumer, {TP0, TP1}, timeout=0)
        fetcher.buffer(TP0, batch(2, 3, LZ4))
        await thread._fetch_records(consumer, {TP0, TP1}, timeout=0)
        now[0] = 90.0  # unpaused by a rebalance, failing again within the minute: no log
        fetcher._subscriptions.resume(TP0)
        fetcher.buffer(TP0, batch(2, 3, LZ4))
        await thread._fetch_records(consumer, {TP0, TP1}, timeout=0)
        now[0] = 151.0  # the codec is there now: the next retry gets through
        codec_ok[0] = True
        await thread._fetch_records(consumer, {TP0, TP1}, timeout=0)
        fetcher.buffer(TP0, batch(2, 3, LZ4))
        got = await thread._fetch_records(consumer, {TP0, TP1}, timeout=0)
        assert offsets(got) == {0: [2, 3, 4]}
        assert not thread.stalls
        await asyncio.sleep(0)
        return heard, consumer.calls

    heard, calls = asyncio.run(main())
    assert calls == [("pause", 0), ("resume", 0), ("pause", 0), ("pause", 0), ("resume", 0)]
    assert [(tp, offset) for tp, offset, _ in heard] == [(TP0, 2)] * 3
    assert heard[0][2] == "UnsupportedCodecError: Libraries for lz4 compression codec not found"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2  # at 0 s and 61 s; the failure at 90 s is within the minute
    message = errors[0].getMessage()
    assert f"partition {TOPIC}[0] stalled at offset 2" in message
    assert "UnsupportedCodecError" in message and "retrying every 60s" in message
    assert "\n" not in message
    assert any("decodes again at offset 2" in r.getMessage() for r in caplog.records)


def test_a_stalled_partition_no_longer_assigned_is_forgotten() -> None:
    async def main() -> tuple[bool, list[tuple[str, int]]]:
        now = [0.0]
        thread = _thread(now, [])
        _, fetcher = assigned(TP0)
        consumer = FakeKafkaConsumer(fetcher, TP0)
        thread.stalls.stall(TP1, 7)
        now[0] = 61.0
        await thread._fetch_records(consumer, {TP0}, timeout=0)
        return bool(thread.stalls), consumer.calls

    assert asyncio.run(main()) == (False, [])


def test_a_dead_fetch_routine_fails_the_fetch_instead_of_idling() -> None:
    """aiokafka's fetch task ending (e.g. its own ``KeyError``) would leave fetches empty."""

    async def main() -> None:
        thread = _thread([0.0], [])
        _, fetcher = assigned(TP0)
        fetcher.error_future.set_exception(KeyError(TP0))
        with pytest.raises(RuntimeError, match="fetch routine ended") as info:
            await thread._fetch_records(FakeKafkaConsumer(fetcher, TP0), {TP0}, timeout=0)
        assert isinstance(info.value.__cause__, KeyError)

    asyncio.run(main())


def test_seeks_run_in_the_consumer_thread() -> None:
    """Faust seeks from the main thread; aiokafka's buffer is the consumer thread's."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    seeks: list[tuple[Any, int, int]] = []
    consumer: Any = IocConsumer.__new__(IocConsumer)
    consumer._thread = SimpleNamespace(
        thread_loop=loop,
        seek=lambda tp, offset: seeks.append((tp, offset, threading.get_ident())),
    )
    try:
        asyncio.run(IocConsumer._seek(consumer, TP0, 42))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()
    assert seeks == [(TP0, 42, runner.ident)]


def test_a_failing_fetch_loop_calls_the_apps_failure_hook() -> None:
    failures: list[BaseException] = []
    consumer: Any = IocConsumer.__new__(IocConsumer)
    consumer.app = SimpleNamespace(on_consumer_failure=failures.append, should_stop=False)
    error = KeyError(TP0)
    consumer._fail(error)
    consumer.app.should_stop = True  # shutting down: not a failure of the worker
    consumer._fail(RuntimeError("stopping"))
    assert failures == [error]


def test_the_agent_notes_a_stall_of_the_source_topic_only() -> None:
    agent = make_agent(FakeTopic(), FakeConsumer())
    noted: list[tuple[int, int, str]] = []

    async def record_stall(partition: int, offset: int, reason: str) -> None:
        noted.append((partition, offset, reason))

    agent.processor.record_stall = record_stall  # type: ignore[method-assign]

    async def main() -> None:
        agent.partition_stalled(TopicPartition(TOPIC, 3), 17, "E: x")
        agent.partition_stalled(TopicPartition("other", 0), 1, "E: y")
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert noted == [(3, 17, "E: x")]


class FakeRedis:
    """The async Redis commands of the stall note: strings, hashes, sets."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    async def get(self, key: str) -> bytes | None:
        value = self.data.get(key)
        return None if value is None else str(value).encode()

    async def hget(self, key: str, field: str) -> bytes | None:
        value = self.data.get(key, {}).get(field)
        return None if value is None else str(value).encode()

    async def hset(self, key: str, mapping: dict[str, str]) -> None:
        self.data.setdefault(key, {}).update(mapping)

    async def hdel(self, key: str, *fields: str) -> None:
        for f in fields:
            self.data.get(key, {}).pop(f, None)

    async def sadd(self, key: str, member: int) -> None:
        self.data.setdefault(key, set()).add(str(member))


def _processor(redis: FakeRedis) -> BatchProcessor:
    async def no_dead_letter(*_: Any) -> None:
        raise AssertionError("no dead letter expected")

    fake: Any = redis
    processor = BatchProcessor(fake, "p", set(), no_dead_letter, lambda _p: None)

    async def apply(partition: int, recs: list[Any]) -> tuple[int, int]:
        return len(recs), 0  # the state update itself is not what is tested here

    processor._apply = apply  # type: ignore[method-assign]
    return processor


def test_a_stall_is_noted_in_redis_and_cleared_by_the_batch_that_gets_past_it() -> None:
    from streams.processor import Record

    async def main() -> list[Any]:
        redis = FakeRedis()
        processor = _processor(redis)
        await processor.record_stall(0, 10, "UnsupportedCodecError: no lz4")
        states = [dict(redis.data["p:{0}:stats"]), set(redis.data["p:parts"])]
        await processor.process([Record(0, 9, b"k", b"{}"), Record(1, 50, b"k", b"{}")])
        states.append(dict(redis.data["p:{0}:stats"]))  # offset 9 < 10: still stalled
        await processor.process([Record(0, 10, b"k", b"{}")])
        states.append(dict(redis.data["p:{0}:stats"]))
        return states

    noted, parts, before, after = asyncio.run(main())
    assert noted == {"stalled": "10", "stalled_reason": "UnsupportedCodecError: no lz4"}
    assert parts == {"0"}  # the exporter sees the partition before its first batch
    assert before == noted
    assert after == {}


def test_a_stall_noted_by_an_earlier_worker_is_read_back_on_assignment() -> None:
    from streams.processor import Record

    async def main() -> tuple[int | None, dict[str, str]]:
        redis = FakeRedis()
        redis.data["p:{2}:off"] = 4
        redis.data["p:{2}:stats"] = {"stalled": "5", "stalled_reason": "E: x", "wm": "1.0"}
        processor = _processor(redis)
        stored = await processor.stored_offset(2)
        await processor.process([Record(2, 5, b"k", b"{}")])
        return stored, redis.data["p:{2}:stats"]

    stored, stats = asyncio.run(main())
    assert stored == 4
    assert stats == {"wm": "1.0"}


def test_the_stalled_gauge_is_rendered_for_stalled_partitions_only() -> None:
    snap = Snapshot(
        clock=None,
        units={},
        processed=0,
        duplicate=0,
        rejected={},
        watermark=None,
        last_processed=None,
        lag={0: 3, 1: 0},
        stalled={1: 40},
    )
    [family] = [f for f in render_snapshot(snap, load_registry(None)) if "stalled" in f.name]
    assert family.name == "ioc_consumer_partition_stalled"
    assert [(s.labels, s.value) for s in family.samples] == [({"partition": "1"}, 1.0)]
