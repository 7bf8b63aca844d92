"""The catch-up lease: one reader of a key prefix's backlog at a time, and stopping on a signal.

A backlog is read fastest by one :func:`streams.backfill.backfill` using every core;
two at once (two workers far behind, or ``ioc backfill`` beside a worker's catch-up)
only share the cores and apply each message twice over (the second time as a skip).
So whoever backfills a key prefix first takes its lease, the string
``<prefix>:catchup`` (:func:`lease_key`), set only if absent with a lifetime of
:data:`LEASE_MS` and renewed every :data:`RENEW_S` while the holder runs:

=====================  ===============================================================
who                    when the lease is held by another
=====================  ===============================================================
``ioc worker``         waits until it is released (or has expired), then starts Faust
``ioc backfill``       waits until it is released (or has expired), then takes it and
                       backfills what is still left
=====================  ===============================================================

The holder releases it when done, stopped or failed; a holder that died (SIGKILL, the
machine) leaves it to expire within :data:`LEASE_MS`. The lease only saves work:
exactly-once rests on the commit script's offset check.

:func:`until_signal` runs a coroutine so that SIGTERM or SIGINT cancels it: its
``finally`` blocks (helper processes closed, lease released) run before the process
exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Final, TypeVar

from ioc_monitor.redis.keys import global_key

__all__ = ["LEASE_MS", "RENEW_S", "Stopped", "held", "lease_key", "until_signal", "wait_released"]

#: Lifetime of the lease, in milliseconds, unless renewed.
LEASE_MS: Final = 30_000
#: Seconds between two renewals of the lease by its holder.
RENEW_S: Final = 10.0
#: Seconds between two looks at a lease held by another.
_WAIT_S: Final = 1.0

#: Deletes the lease only while it still holds the caller's token (KEYS[1], ARGV[1]).
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_T = TypeVar("_T")


def lease_key(prefix: str) -> str:
    """The catch-up lease of a key prefix (``<prefix>:catchup``)."""
    return global_key(prefix, "catchup")


@contextlib.asynccontextmanager
async def held(client: Any, key: str) -> AsyncIterator[bool]:
    """Take the lease ``key`` if it is free, and hold it while the block runs.

    Args:
        client: An asyncio Redis client (redis-py).
        key: The lease, :func:`lease_key`.

    Yields:
        True when taken (renewed in the background, released on leaving the block, also
        on an exception or a cancellation); False when another holds it (nothing is
        taken or released).
    """
    token = secrets.token_hex(8)
    if not await client.set(key, token, nx=True, px=LEASE_MS):
        yield False
        return
    renew = asyncio.ensure_future(_renew(client, key, token))
    try:
        yield True
    finally:
        renew.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renew
        await client.eval(_RELEASE, 1, key, token)


async def wait_released(client: Any, key: str) -> float:
    """Wait until the lease ``key`` is released or has expired.

    Returns:
        Seconds waited.
    """
    start = time.monotonic()
    while await client.exists(key):
        await asyncio.sleep(_WAIT_S)
    return time.monotonic() - start


async def _renew(client: Any, key: str, token: str) -> None:
    """Extend the lease every :data:`RENEW_S` while it is still ours."""
    while True:
        await asyncio.sleep(RENEW_S)
        with contextlib.suppress(Exception):  # Redis away: the backfill waits for it too
            if await client.get(key) == token.encode():
                await client.pexpire(key, LEASE_MS)


class Stopped:
    """What :func:`until_signal` returns when a signal stopped the work."""

    def __init__(self, signum: int) -> None:
        """Remember the signal.

        Args:
            signum: SIGTERM or SIGINT.
        """
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``SIGTERM``."""
        return signal.Signals(self.signum).name


async def until_signal(work: Coroutine[Any, Any, _T]) -> _T | Stopped:
    """Run ``work``; on SIGTERM or SIGINT cancel it and wait for it to unwind.

    Returns:
        What ``work`` returned, or :class:`Stopped` when a signal came first.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    signalled: list[int] = []

    def stop(sig: int) -> None:
        signalled.append(sig)
        task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    try:
        return await task
    except asyncio.CancelledError:
        if not signalled:
            raise
        return Stopped(signalled[0])
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
