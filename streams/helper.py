"""The worker's helper process: the batch processor on the second CPU core.

The Faust process spends about 60 µs of CPU on each message before the agent sees it
(the ``make bench`` floor on a 2-core machine), and the processor (parse, rules, Redis)
about 40 µs more, on the same core: one Python process cannot use two. With the helper,
``ioc worker`` starts ``python -m streams.helper`` and its agent hands each batch to it:

- the helper runs the real :class:`~streams.processor.BatchProcessor` (its own Redis
  client, the same ``IOC_REDIS_*`` settings), so state, offsets and exactly-once are
  unchanged;
- a rejected message is sent back to the worker, whose Faust producer sends it to the
  dead-letter topic (and waits for the broker) before the batch is committed, as
  without the helper;
- the agent takes the next batch from Faust while the helper applies the last one (one
  batch in flight; its messages stay unacknowledged until the commit, see
  :meth:`streams.agent.KpiAgent.run`), and Faust's consumer fetches and dispatches
  meanwhile: that overlap is what pays.

:class:`HelperProcessor` is the worker's side, with the methods of ``BatchProcessor``
the agent uses. The helper exits when the worker's pipe closes (it ignores SIGINT and
SIGTERM, so that the worker stops first); when the helper exits, every call fails with
:class:`~streams.channel.ChannelClosed`, and the agent's failure ends the worker
(status 70, :func:`streams.worker.exit_on_failure`) for its supervisor to restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import msgspec

from ioc_monitor.events import Rejection
from streams.channel import Channel, ChannelClosed, Handler
from streams.processor import BatchProcessor, DeadLetterSink, HighWater, Record

__all__ = ["HelperProcessor", "main"]

log = logging.getLogger(__name__)

#: The helper, as errors name it.
_NAME: Final = "the helper process"
#: Seconds to wait for the exit status of a helper whose pipe closed.
_EXIT_WAIT_S: Final = 5.0
#: A batch travels as one MessagePack array of records, decoded straight into them
#: (about 0.5 µs a record less than generic arrays and ``Record(*r)``).
_RECORDS_OUT: Final = msgspec.msgpack.Encoder()
_RECORDS_IN: Final = msgspec.msgpack.Decoder(list[Record])
#: Bytes the pipes' readers buffer before pausing (10,000 messages are about 4 MB).
_PIPE_LIMIT: Final = 64 * 1024 * 1024


class HelperProcessor:
    """The worker's side of the helper: ``process``, ``record_stall``, ``stored_offset``.

    The helper is started by the first call (on the running loop).

    Args:
        units: Ids of the unit registry (sent to the helper).
        dead_letter: Sends a rejected message to the dead-letter topic and waits.
        highwater: Partition high-water mark (sent with each batch, for the lag).
        argv: The helper's command. Default ``python -m streams.helper``.

    Attributes:
        applied: Messages applied so far (reported by the helper).
        skipped: Messages already applied earlier, skipped.
    """

    def __init__(
        self,
        units: Iterable[str],
        dead_letter: DeadLetterSink,
        highwater: HighWater,
        argv: Sequence[str] | None = None,
    ) -> None:
        self._units = sorted(units)
        self._dead_letter = dead_letter
        self._highwater = highwater
        self._argv = list(argv) if argv is not None else [sys.executable, "-m", "streams.helper"]
        self._channel: Channel | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._starting = asyncio.Lock()
        self.applied = 0
        self.skipped = 0

    @property
    def pid(self) -> int | None:
        """The helper's process id, once started."""
        return self._proc.pid if self._proc is not None else None

    async def _started(self) -> Channel:
        async with self._starting:
            if self._channel is None:
                self._proc = await asyncio.create_subprocess_exec(
                    *self._argv,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=_PIPE_LIMIT,
                )
                assert self._proc.stdin is not None and self._proc.stdout is not None
                self._channel = Channel(
                    self._proc.stdout,
                    self._proc.stdin,
                    {"dead_letter": self._send_dead_letter},
                    _NAME,
                )
                await self._ask(self._channel, "init", self._units)
                log.info("helper process %d started", self._proc.pid)
            return self._channel

    async def _call(self, op: str, *args: Any) -> Any:
        """Run ``op`` in the helper, starting it first if needed (see :meth:`_ask`)."""
        return await self._ask(await self._started(), op, *args)

    async def _ask(self, channel: Channel, op: str, *args: Any) -> Any:
        """``channel.call``; when the helper went away, the error gives its exit status."""
        try:
            return await channel.call(op, *args)
        except ChannelClosed as exc:
            assert self._proc is not None
            try:
                status = await asyncio.wait_for(self._proc.wait(), _EXIT_WAIT_S)
            except TimeoutError:
                raise exc from None  # its pipe closed, it has not exited (yet)
            raise ChannelClosed(f"{_NAME} exited with status {status}") from None

    async def _send_dead_letter(
        self, key: bytes | None, value: bytes, reason: str, detail: str, partition: int, offset: int
    ) -> None:
        await self._dead_letter(key, value, Rejection(reason, detail), partition, offset)

    async def process(self, records: Sequence[Record]) -> tuple[int, int]:
        """Apply a batch in the helper (see :meth:`BatchProcessor.process`).

        Calls may overlap when they hold different partitions (``ioc backfill``).
        """
        marks = {p: self._highwater(p) for p in {r.partition for r in records}}
        applied, skipped = await self._call("process", _RECORDS_OUT.encode(records), marks)
        self.applied += applied
        self.skipped += skipped
        return applied, skipped

    async def close(self) -> int | None:
        """Close the helper's pipe and wait for it to exit (the helper exits on EOF).

        Returns:
            Its exit status; None when it was never started.
        """
        if self._channel is None or self._proc is None:
            return None
        self._channel.close()
        try:
            return await asyncio.wait_for(self._proc.wait(), _EXIT_WAIT_S)
        except TimeoutError:
            self._proc.kill()
            return await self._proc.wait()

    async def record_stall(self, partition: int, offset: int, reason: str) -> None:
        """Note a stalled partition (see :meth:`BatchProcessor.record_stall`)."""
        await self._call("stall", partition, offset, reason)

    async def stored_offset(self, partition: int) -> int | None:
        """The last offset applied for a partition (see :meth:`BatchProcessor.stored_offset`)."""
        stored: int | None = await self._call("stored", partition)
        return stored


class _Served:
    """The helper's side: a real :class:`BatchProcessor`, built by ``init``."""

    def __init__(self, connect: Callable[[], Any], prefix: str) -> None:
        self._connect = connect
        self._prefix = prefix
        self._processor: BatchProcessor | None = None
        self._marks: dict[int, int | None] = {}
        self.channel: Channel | None = None

    async def init(self, units: list[str]) -> None:
        self._processor = BatchProcessor(
            self._connect(), self._prefix, frozenset(units), self._dead_letter, self._marks.get
        )

    async def _dead_letter(
        self, key: bytes | None, value: bytes, rejection: Rejection, partition: int, offset: int
    ) -> None:
        assert self.channel is not None
        await self.channel.call(
            "dead_letter", key, value, rejection.reason, rejection.detail, partition, offset
        )

    async def process(self, records: bytes, marks: dict[int, int | None]) -> list[int]:
        self._marks.update(marks)  # calls may overlap (other partitions): marks only grow
        assert self._processor is not None, "init first"
        return list(await self._processor.process(_RECORDS_IN.decode(records)))

    async def stall(self, partition: int, offset: int, reason: str) -> None:
        assert self._processor is not None, "init first"
        await self._processor.record_stall(partition, offset, reason)

    async def stored(self, partition: int) -> int | None:
        assert self._processor is not None, "init first"
        return await self._processor.stored_offset(partition)


async def _serve(protocol_in: int, protocol_out: int) -> None:
    from ioc_monitor.config import RedisSettings, load
    from ioc_monitor.redis.client import connect_async

    settings = load(RedisSettings)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_PIPE_LIMIT)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(protocol_in, "rb", buffering=0)
    )
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(protocol_out, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    served = _Served(lambda: connect_async(settings), settings.prefix)
    handlers: dict[str, Handler] = {
        "init": served.init,
        "process": served.process,
        "stall": served.stall,
        "stored": served.stored,
    }
    served.channel = Channel(reader, writer, handlers, "the worker")
    await served.channel.closed.wait()


def main() -> int:
    """Serve the worker on stdin/stdout until the worker closes the pipe."""
    for sig in (signal.SIGINT, signal.SIGTERM):  # the worker stops first, then its pipe
        signal.signal(sig, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.WARNING, format="[%(asctime)s] [helper %(process)d] %(levelname)s %(message)s"
    )
    # The protocol keeps the original stdout; anything printed goes to stderr instead.
    protocol_out = os.dup(1)
    os.dup2(2, 1)
    from streams.worker import tune_gc, use_uvloop

    use_uvloop()
    tune_gc()
    asyncio.run(_serve(0, protocol_out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
