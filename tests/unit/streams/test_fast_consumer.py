"""The worker's per-message hand-off (streams.fast_consumer.hand_off).

The hand-off must keep Faust's semantics (a message blocked while a rebalance
suspends the flow is abandoned; a stop cancels it) while creating no task in the
common case where the coroutine completes without waiting.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mode import Service

from streams.fast_consumer import IocApp, IocConsumer, IocTransport, _Slot, hand_off


class _Svc(Service):  # type: ignore[misc]
    """A bare mode service: hand_off only uses its ``wait_first``."""


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _blocked(trace: list[str], label: str) -> Any:
    """A hand-off that waits forever; records ``label`` when it is cancelled."""
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def deliver() -> None:
        try:
            await never
        except asyncio.CancelledError:
            trace.append(label)
            raise

    return deliver()


def test_completes_inline_without_a_task() -> None:
    async def main() -> tuple[list[str], int]:
        done: list[str] = []

        async def deliver() -> None:
            done.append("x")

        created: list[Any] = []
        loop = asyncio.get_running_loop()
        factory = loop.get_task_factory()

        def spy(lp: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
            created.append(coro)
            return asyncio.Task(coro, loop=lp, **kw)

        loop.set_task_factory(spy)
        try:
            await hand_off(_Svc(), deliver(), asyncio.Event(), _Slot())
        finally:
            loop.set_task_factory(factory)
        return done, len(created)

    done, created = _run(main())
    assert done == ["x"]
    assert created == 0


def test_blocked_hand_off_resumes_and_returns_the_values_sent() -> None:
    async def main() -> tuple[list[Any], Any]:
        got: list[Any] = []
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def deliver() -> None:
            got.append(await fut)
            await asyncio.sleep(0)  # a bare yield inside, too
            got.append("after")

        slot = _Slot()
        task = asyncio.ensure_future(hand_off(_Svc(), deliver(), asyncio.Event(), slot))
        await asyncio.sleep(0)
        assert slot.pending is fut  # what it waits on is visible to the watcher
        fut.set_result(42)
        await task
        return got, slot.pending

    got, pending = _run(main())
    assert got == [42, "after"]
    assert pending is None


def test_exception_inside_the_hand_off_propagates() -> None:
    async def main() -> None:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def deliver() -> None:
            await fut
            raise ValueError("bad message")

        task = asyncio.ensure_future(hand_off(_Svc(), deliver(), asyncio.Event(), _Slot()))
        await asyncio.sleep(0)
        fut.set_result(1)
        await task

    with pytest.raises(ValueError, match="bad message"):
        _run(main())


def test_suspension_abandons_a_blocked_hand_off() -> None:
    """What IocConsumer._watch_suspend does: set the flag, cancel what it waits on."""

    async def main() -> list[str]:
        trace: list[str] = []
        deliver = _blocked(trace, "cleanup")

        suspended = asyncio.Event()
        slot = _Slot()
        task = asyncio.ensure_future(hand_off(_Svc(), deliver, suspended, slot))
        await asyncio.sleep(0)
        suspended.set()
        slot.pending.cancel()
        await task  # returns: the message is abandoned, as Faust's wait_first does
        trace.append("returned")
        return trace

    assert _run(main()) == ["cleanup", "returned"]


def test_a_real_cancellation_is_not_swallowed() -> None:
    async def main() -> None:
        deliver = _blocked([], "cancelled")
        suspended = asyncio.Event()
        task = asyncio.ensure_future(hand_off(_Svc(), deliver, suspended, _Slot()))
        await asyncio.sleep(0)
        suspended.set()  # even during a suspension, a stop of the fetcher is a stop
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        _run(main())


def test_while_suspended_a_blocked_hand_off_is_abandoned_not_awaited() -> None:
    async def main() -> list[str]:
        trace: list[str] = []
        deliver = _blocked(trace, "cancelled")

        suspended = asyncio.Event()
        suspended.set()
        await asyncio.wait_for(hand_off(_Svc(), deliver, suspended, _Slot()), 5)
        await asyncio.sleep(0)
        return trace

    assert _run(main()) == ["cancelled"]


def test_the_app_uses_the_fast_consumer() -> None:
    app = IocApp("t-fast-consumer", broker="kafka://127.0.0.1:1", web_enabled=False)
    transport = app.transport
    assert isinstance(transport, IocTransport)
    assert transport.Consumer is IocConsumer


def test_the_suspension_watcher_is_one_of_the_consumers_tasks() -> None:
    """mode starts a Service's ``@Service.task`` methods; the watcher must be one."""
    tasks = IocConsumer._tasks or {}
    assert "_watch_suspend" in tasks[f"{IocConsumer.__module__}.{IocConsumer.__qualname__}"]


def test_watcher_cancels_a_blocked_hand_off_when_the_flow_is_suspended() -> None:
    async def main() -> list[str]:
        trace: list[str] = []
        deliver = _blocked(trace, "abandoned")

        stop = asyncio.Event()

        class _Probe(IocConsumer):
            @property
            def should_stop(self) -> bool:
                return stop.is_set()

        consumer: Any = _Probe.__new__(_Probe)  # only what the watcher uses, no broker
        consumer._handoff_slot = _Slot()
        consumer.suspend_flow = asyncio.Event()
        watcher = asyncio.ensure_future(IocConsumer._watch_suspend.fun(consumer))
        hand = asyncio.ensure_future(
            hand_off(_Svc(), deliver, consumer.suspend_flow, consumer._handoff_slot)
        )
        await asyncio.sleep(0.01)
        consumer.suspend_flow.set()  # what Consumer.stop_flow() does at a rebalance
        await asyncio.wait_for(hand, 5)
        stop.set()
        consumer.suspend_flow.clear()
        await asyncio.wait_for(watcher, 5)
        return trace

    assert _run(main()) == ["abandoned"]
