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

Copying a private method ties this module to one Faust minor version: ``ioc worker``
starts only on the faust-streaming versions of :data:`streams.faust_version.SUPPORTED`
(the pin of ``pyproject.toml``), checked before this module is imported.

Correctness of the KPI state never depends on this path: the Redis state carries its
own per-partition offsets (see :mod:`streams.processor`).

:class:`IocApp` is a ``faust.App`` whose transport uses :class:`IocConsumer`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Generator
from typing import Any, cast

import faust
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode import Service
from mode.types import ServiceT

__all__ = ["IocApp", "IocConsumer", "IocTransport", "hand_off"]

_Coro = Coroutine[Any, Any, Any]


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


class IocConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with :func:`hand_off` instead of a per-message wait."""

    _handoff_slot: _Slot

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._handoff_slot = _Slot()
        self._buffer_drop = asyncio.Event()
        super().__init__(*args, **kwargs)

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
        # replaced by ``await hand_off(...)``; exception handling kept as is.
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
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)


class IocTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with :class:`IocConsumer`."""

    Consumer = IocConsumer


class IocApp(faust.App):
    """A ``faust.App`` whose consumer transport is :class:`IocTransport`."""

    def _new_transport(self) -> IocTransport:
        return IocTransport(self.conf.broker_consumer, self)
