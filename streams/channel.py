"""Calls both ways between the worker and its helper process, over a pair of pipes.

A frame is a 4-byte big-endian length and a MessagePack body (msgspec):
``[0, id, op, args]`` is a request, ``[1, id, ok, result]`` its answer (``ok`` false:
``result`` is the error, one line). Either side may call the other; each side answers
its requests concurrently, each handler in a task of its own started in the order the
requests arrive: a handler that waits (for Redis, or on a call of its own) does not hold
back the next request, and the caller decides how many it has waiting.

When the other side goes away (end of file, a broken pipe) every call waiting and
every later one raises :class:`ChannelClosed`, and :attr:`Channel.closed` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import msgspec

from ioc_monitor.errors import IocError

__all__ = ["Channel", "ChannelClosed", "Handler", "RemoteError"]

log = logging.getLogger(__name__)

_HEADER: Final = struct.Struct(">I")
_REQUEST: Final = 0
_ANSWER: Final = 1

#: A request handler: called with the request's arguments, returns the result.
Handler = Callable[..., Awaitable[Any]]


class ChannelClosed(IocError):
    """The other side of the channel went away (it exited, or closed its pipe)."""


class RemoteError(IocError):
    """A call failed on the other side; the message is its error, one line."""


class Channel:
    """One end of the channel.

    Args:
        reader: Frames from the other side.
        writer: Frames to the other side.
        handlers: ``op -> handler`` of the requests this side answers.
        name: The other side, for errors (e.g. ``"the helper process"``).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handlers: Mapping[str, Handler],
        name: str,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._handlers = dict(handlers)
        self._name = name
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._requests: asyncio.Queue[tuple[int, str, list[Any]] | None] = asyncio.Queue()
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder()
        self.closed: asyncio.Event = asyncio.Event()
        self._why = f"{name} went away"
        self._tasks = [
            asyncio.ensure_future(self._read_frames()),
            asyncio.ensure_future(self._serve()),
        ]

    async def call(self, op: str, *args: Any) -> Any:
        """Ask the other side to run ``op`` and wait for its result.

        Raises:
            ChannelClosed: The other side went away before it answered.
            RemoteError: ``op`` failed there.
        """
        if self.closed.is_set():
            raise ChannelClosed(self._why)
        self._next_id += 1
        call_id = self._next_id
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = answer
        try:
            await self._send([_REQUEST, call_id, op, list(args)])
            return await answer
        finally:
            self._pending.pop(call_id, None)

    def close(self, why: str | None = None) -> None:
        """Stop reading and answering, and fail the calls still waiting.

        Args:
            why: The error the waiting and later calls raise. Default: the other side
                went away.
        """
        if why is not None and not self.closed.is_set():
            self._why = why
        self.closed.set()
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(ChannelClosed(self._why))
        self._requests.put_nowait(None)
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        if not self._writer.is_closing():
            self._writer.close()

    async def _send(self, message: list[Any]) -> None:
        body = self._encoder.encode(message)
        try:
            self._writer.write(_HEADER.pack(len(body)) + body)
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as exc:  # a pipe closed under us
            self.close()
            raise ChannelClosed(self._why) from exc

    async def _read_frames(self) -> None:
        try:
            while True:
                header = await self._reader.readexactly(_HEADER.size)
                (size,) = _HEADER.unpack(header)
                kind, call_id, head, body = self._decoder.decode(
                    await self._reader.readexactly(size)
                )
                if kind == _REQUEST:
                    self._requests.put_nowait((call_id, head, body))
                    continue
                answer = self._pending.get(call_id)
                if answer is None or answer.done():
                    continue  # its caller gave up (cancelled)
                if head:
                    answer.set_result(body)
                else:
                    answer.set_exception(RemoteError(f"{self._name}: {body}"))
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a frame that does not decode: the channel is unusable
            log.error("%s sent a frame that does not decode: %s", self._name, exc)
            self.close(f"{self._name} sent a frame that does not decode ({exc})")

    async def _serve(self) -> None:
        handling: set[asyncio.Task[None]] = set()
        try:
            while True:
                request = await self._requests.get()
                if request is None:
                    return
                task = asyncio.ensure_future(self._answer(*request))
                handling.add(task)
                task.add_done_callback(handling.discard)
        finally:
            for task in handling:
                task.cancel()

    async def _answer(self, call_id: int, op: str, args: list[Any]) -> None:
        handler = self._handlers.get(op)
        try:
            if handler is None:
                raise LookupError(f"no handler for {op!r}")
            message = [_ANSWER, call_id, True, await handler(*args)]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("%s: %s failed", self._name, op)
            message = [_ANSWER, call_id, False, f"{op}: {type(exc).__name__}: {exc}"]
        with contextlib.suppress(ChannelClosed):
            await self._send(message)
