"""A faster per-message hand-off for Faust's aiokafka consumer.

Faust's ``Consumer._drain_messages`` (faust-streaming 0.15) hands every fetched message
to the conductor through ``Service.wait_first(callback(message), suspend_flow.wait())``:
four asyncio tasks and an ``asyncio.wait`` per message, so that a hand-off blocked on a
full stream buffer can be abandoned when a rebalance suspends the flow. The profile of
``make bench`` puts about half of the worker's CPU in that path; the Faust floor (a
worker that only counts) tops out near 14,000 messages/s on this machine.

:class:`IocConsumer` keeps those semantics and drops the cost: it runs the hand-off
coroutine inline in the fetch loop's own task, no task is created. When it completes
without blocking (the stream buffer has room), nothing else happens; when it blocks,
the future it waits on is recorded, and a watcher task cancels it if a rebalance
suspends the flow, which abandons the message as Faust's race would. It also wakes the
fetch loop as soon as a paused partition's buffer drains, where Faust sleeps a whole
second once every partition is paused. Everything else in the loop (read offsets,
gaps, commit-every, yields to the loop) is Faust's code unchanged.

A batch that cannot be decoded (codec missing, bad CRC) would raise out of every fetch
and crash-loop the worker: :func:`fetched_records` (aiokafka 0.14's, per partition)
delivers the records before it and pauses that partition there (nothing skipped or
committed past it) with one ERROR line, retried every :data:`STALL_RETRY_S` s; the app's
``on_partition_stalled`` hook hears of it. Seeks run in the consumer thread (Faust's
from the main thread race the fetcher's buffer: aiokafka's ``KeyError``); a fetch loop
that fails anyway calls the app's ``on_consumer_failure`` hook (no idle worker).

Copying private methods ties this module to one Faust and one aiokafka minor version:
``ioc worker`` starts only on those of :mod:`streams.faust_version`, checked before this
module is imported. The KPI state never depends on this path: the Redis state carries
its own per-partition offsets (see :mod:`streams.processor`).

:class:`IocApp` is a ``faust.App`` whose transport uses :class:`IocConsumer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import Any, Final, cast

import faust
from aiokafka.consumer.fetcher import FetchResult
from aiokafka.errors import ConsumerStoppedError
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode import Service
from mode.types import ServiceT

from streams.faust_version import check_aiokafka_version

__all__ = ["STALL_RETRY_S", "IocApp", "IocConsumer", "IocTransport", "Stalls", "hand_off"]

log = logging.getLogger(__name__)

_Coro = Coroutine[Any, Any, Any]
_Clock = Callable[[], float]
#: ``(tp, offset, error)``: a partition's records from ``offset`` cannot be decoded.
Undecodable = Callable[[Any, int, BaseException], None]
#: Seconds between retries of a partition stalled at a batch that cannot be decoded.
STALL_RETRY_S: Final = 60.0


class _Slot:
    """The future a hand-off currently waits on, so that a suspension can cancel it."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending: Any = None


def _resume(coro: _Coro, blocked_on: Any, slot: _Slot) -> Generator[Any, Any, Any]:
    """Drive a coroutine already started by hand, from the point where it blocked.

    It re-yields what the coroutine yields (the future it waits on) to the task that
    drives the caller, records it in ``slot``, and passes results, exceptions and
    cancellation back, as ``yield from`` would have done from the start.
    """
    pending = blocked_on
    while True:
        slot.pending = pending
        try:
            sent = yield pending
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # cancellation, thrown into the coroutine
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = coro.send(sent)
            except StopIteration as stop:
                return stop.value


class _Resumed:
    """Awaitable continuing a coroutine started by hand (see :func:`_resume`)."""

    __slots__ = ("_blocked_on", "_coro", "_slot")

    def __init__(self, coro: _Coro, blocked_on: Any, slot: _Slot) -> None:
        self._coro = coro
        self._blocked_on = blocked_on
        self._slot = slot

    def __await__(self) -> Generator[Any, Any, Any]:
        return _resume(self._coro, self._blocked_on, self._slot)


async def hand_off(service: Service, coro: _Coro, suspended: asyncio.Event, slot: _Slot) -> None:
    """Run ``coro`` in the caller's task; a suspension abandons it (Faust's semantics).

    While the flow is suspended it is Faust's own ``wait_first`` race. Otherwise the
    coroutine runs inline, no task is created; if it blocks (a full stream buffer), the
    future it waits on is kept in ``slot`` so that :meth:`IocConsumer._watch_suspend`
    can cancel it when a rebalance suspends the flow, which abandons this message as
    ``wait_first`` would.

    Args:
        service: The consumer (its ``wait_first`` also stops on service stop/crash).
        coro: The hand-off of one message (conductor callback).
        suspended: Faust's ``suspend_flow`` event (set during a rebalance).
        slot: Where the pending future is kept.
    """
    if suspended.is_set():
        await service.wait_first(coro, suspended.wait())
        return
    try:
        blocked_on = coro.send(None)
    except StopIteration:
        return  # the stream buffer had room
    try:
        await _Resumed(coro, blocked_on, slot)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is None or task.cancelling() or not suspended.is_set():
            raise  # a real cancellation (stop), not the suspension's
    finally:
        slot.pending = None


def _drain(res: Any, max_records: int | None) -> tuple[list[Any], tuple[int, Exception] | None]:
    """Like aiokafka 0.14's ``FetchResult.getall``, with ``(offset, error)`` if unpacking fails."""
    if not res.check_assignment(res._topic_partition) or not res.has_more():
        return [], None
    batch = res._partition_records
    out: list[Any] = []
    try:
        for msg in batch:
            out.append(msg)
            if max_records is not None and len(out) >= max_records:
                res._update_position()
                return out, None
    except Exception as exc:  # a codec missing, a bad CRC: anything unpacking the batch
        res._update_position()
        res._partition_records = None
        return out, (batch.next_fetch_offset, exc)
    res._update_position()
    res._partition_records = None
    return out, None


async def fetched_records(
    fetcher: Any,
    partitions: Iterable[Any],
    timeout: float = 0,
    max_records: int | None = None,
    on_undecodable: Undecodable | None = None,
) -> dict[Any, list[Any]]:
    """Copy of aiokafka 0.14's ``Fetcher.fetched_records`` (Apache-2.0), per partition.

    Changed: a batch that cannot be unpacked goes to ``on_undecodable`` (tp, offset,
    error) instead of raising out of the fetch; a result gone since the keys were listed
    (a seek, a revocation) is skipped instead of raising ``KeyError``.
    """
    records = fetcher._records
    subscriptions = fetcher._subscriptions
    while True:
        if subscriptions.reassignment_in_progress:
            await subscriptions.wait_for_assignment()
        start_time = time.monotonic()
        drained: dict[Any, list[Any]] = {}
        for tp in list(records.keys()):
            if partitions and tp not in partitions:
                if not subscriptions.is_assigned(tp):
                    records.pop(tp, None)
                continue
            res_or_error = records.get(tp)
            if res_or_error is None:  # gone since listed: no longer this consumer's
                continue
            if type(res_or_error) is FetchResult:
                got, error = _drain(res_or_error, max_records)
                if not res_or_error.has_more():
                    records.pop(tp, None)
                    fetcher._notify(fetcher._wait_consume_future)
                if error is not None:
                    if on_undecodable is None:
                        raise error[1]
                    on_undecodable(tp, *error)
                if not got:
                    continue
                drained[tp] = got
                if max_records is not None:
                    max_records -= len(got)
                    if max_records <= 0:
                        break
            elif drained:
                return drained
            else:
                records.pop(tp, None)
                fetcher._notify(fetcher._wait_consume_future)
                res_or_error.check_raise()
        if drained or not timeout:
            return drained
        waiter = fetcher._create_fetch_waiter()
        done, pending = await asyncio.wait([waiter], timeout=timeout)
        if not done or fetcher._closed:
            if pending:
                pending.pop().cancel()
            return {}
        if waiter.done():
            waiter.result()
        timeout = max(0, timeout - (time.monotonic() - start_time))


class Stalls:
    """Partitions paused at a batch that cannot be decoded, and when to retry them.

    Args:
        retry_every: Seconds between retries and between two logs of a partition.
        clock: Monotonic clock.
    """

    def __init__(self, retry_every: float = STALL_RETRY_S, clock: _Clock = time.monotonic) -> None:
        self.retry_every = retry_every
        self._clock = clock
        self._at: dict[Any, list[float]] = {}  # tp -> [offset, last try, last log]

    def __bool__(self) -> bool:
        return bool(self._at)

    def stall(self, tp: Any, offset: int) -> bool:
        """Note that ``tp`` is paused at ``offset``; tell whether to log it (once a period)."""
        now = self._clock()
        at = self._at.get(tp)
        if at is None or at[0] != offset or now - at[2] >= self.retry_every:
            self._at[tp] = [offset, now, now]
            return True
        at[1] = now
        return False

    def due(self) -> list[Any]:
        """The stalled partitions to retry now (each then waits another period)."""
        now = self._clock()
        due = [tp for tp, at in self._at.items() if now - at[1] >= self.retry_every]
        for tp in due:
            self._at[tp][1] = now
        return due

    def moved(self, tp: Any) -> int | None:
        """Forget a partition (it moves again, or is not assigned); its stalled offset."""
        at = self._at.pop(tp, None)
        return None if at is None else int(at[0])


def _ended(fetcher: Any) -> BaseException | None:
    task = fetcher.error_future
    return None if task.cancelled() else task.exception()


class IocConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread, with the fetch of :func:`fetched_records`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.stalls = Stalls()

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[TP],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        # Faust 0.15.3's, with our fetched_records and the stalled partitions' retries.
        if not self.consumer.flow_active:
            return {}
        fetcher = consumer._fetcher
        if consumer._closed or fetcher._closed:
            raise ConsumerStoppedError()
        if fetcher.error_future.done():  # aiokafka's fetch task died: nothing would come
            raise RuntimeError("aiokafka's fetch routine ended") from _ended(fetcher)
        stalls = self.stalls
        if stalls:
            self._retry_stalled(consumer)
        stalled_now: set[Any] = set()

        def undecodable(tp: Any, offset: int, exc: BaseException) -> None:
            stalled_now.add(tp)
            self._on_undecodable(consumer, tp, offset, exc)

        with fetcher._subscriptions.fetch_context():
            got = await fetched_records(
                fetcher, active_partitions, timeout or 0, max_records, undecodable
            )
        if stalls:
            for tp in got.keys() - stalled_now:
                offset = stalls.moved(tp)
                if offset is not None:
                    log.warning("%s[%d] decodes again at offset %d", tp.topic, tp.partition, offset)
        return got

    def _retry_stalled(self, consumer: Any) -> None:
        for tp in self.stalls.due():  # resumed, fetched again: a failure pauses it again
            (consumer.resume if tp in consumer.assignment() else self.stalls.moved)(tp)

    def _on_undecodable(self, consumer: Any, tp: Any, offset: int, exc: BaseException) -> None:
        consumer.pause(tp)
        reason = str(exc)  # aiokafka's errors start with their class name, others do not
        if not reason.startswith(type(exc).__name__):
            reason = f"{type(exc).__name__}: {reason}"
        if self.stalls.stall(tp, offset):
            log.error(
                "partition %s[%d] stalled at offset %d: a fetched record batch cannot be "
                "decoded (%s); the partition stays paused at that offset (nothing skipped, "
                "nothing committed past it), the other partitions go on; retrying every %.0fs",
                tp.topic,
                tp.partition,
                offset,
                reason,
                self.stalls.retry_every,
            )
            log.debug("undecodable batch of %s[%d]", tp.topic, tp.partition, exc_info=exc)
        main = cast(IocConsumer, self.consumer)
        main.loop.call_soon_threadsafe(main.partition_stalled, tp, offset, reason)


class IocConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with :func:`hand_off` instead of a per-message wait."""

    _handoff_slot: _Slot
    _thread: IocConsumerThread

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._handoff_slot = _Slot()
        self._buffer_drop = asyncio.Event()
        super().__init__(*args, **kwargs)

    def _new_consumer_thread(self) -> IocConsumerThread:
        return IocConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def partition_stalled(self, tp: TP, offset: int, reason: str) -> None:
        """Tell the app's ``on_partition_stalled`` hook (main thread) of a stall."""
        hook = getattr(self.app, "on_partition_stalled", None)
        if hook is not None:
            hook(tp, offset, reason)

    async def _seek(self, partition: TP, offset: int) -> None:
        # aiokafka's seek edits the fetcher's buffer that the consumer thread walks.
        thread = self._thread
        loop = thread.thread_loop
        if not loop.is_running():
            thread.seek(partition, offset)
            return

        async def seek() -> None:
            thread.seek(partition, offset)

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(seek(), loop))

    def _fail(self, exc: BaseException) -> None:
        hook = getattr(self.app, "on_consumer_failure", None)
        if hook is not None and not self.app.should_stop:  # not while shutting down
            hook(exc)

    def on_buffer_drop(self, tp: TP) -> None:
        """Resume fetching a partition whose stream buffer drained; wake the fetcher."""
        super().on_buffer_drop(tp)
        self._buffer_drop.set()

    async def _wait_next_records(self, timeout: float) -> Any:
        # Faust sleeps a whole second when every partition is paused because its
        # stream buffer is full; the agent drains a buffer in a fraction of that.
        # Wait for the first buffer to drain instead (at most that second).
        if (
            self.flow_active
            and not self.app.client_only
            and self._buffered_partitions
            and not self._get_active_partitions()
        ):
            self._buffer_drop.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._buffer_drop.wait(), 1.0)
        return await super()._wait_next_records(timeout)

    @Service.task
    async def _watch_suspend(self) -> None:
        """Cancel a blocked hand-off when a rebalance suspends the flow."""
        while not self.should_stop:
            await self.suspend_flow.wait()
            # For as long as the flow stays suspended (a second rebalance may follow
            # the first within a tick), any inline hand-off found blocked is abandoned.
            while self.suspend_flow.is_set() and not self.should_stop:
                pending = self._handoff_slot.pending
                if pending is not None and not pending.done():
                    pending.cancel()
                await asyncio.sleep(0.05)

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # pragma: no cover
        # Faust 0.15.3's Consumer._drain_messages (BSD-3), with the per-message
        # ``await self.wait_first(callback(message), self.suspend_flow.wait())``
        # replaced by ``await hand_off(...)``; a failure also calls ``_fail``.
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        suspended = self.suspend_flow
        slot = self._handoff_slot
        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait = getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0
                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            await hand_off(self, cast(_Coro, callback(message)), suspended, slot)
                            set_read_offset(tp, offset)
                    unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors as exc:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            self._fail(exc)
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            self._fail(exc)  # the worker would stay up without consuming: let it end
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)


class IocTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with :class:`IocConsumer`."""

    Consumer = IocConsumer


class IocApp(faust.App):
    """A ``faust.App`` whose consumer transport is :class:`IocTransport`.

    Attributes:
        on_partition_stalled: Called on the app's loop with ``(tp, offset, reason)``
            when the consumer pauses a partition at a batch it cannot decode (again at
            each failed retry). Default ``None``.
        on_consumer_failure: Called with the exception when the fetch loop fails (the
            worker would otherwise stay up without consuming). Default ``None``.
    """

    on_partition_stalled: Callable[[TP, int, str], None] | None = None
    on_consumer_failure: Callable[[BaseException], None] | None = None

    def _new_transport(self) -> IocTransport:
        check_aiokafka_version()  # the consumer thread runs a copy of a private API
        return IocTransport(self.conf.broker_consumer, self)
