"""``streams.lease.until_signal``: a signal cancels the work, whose ``finally`` still runs."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from streams.lease import Stopped, until_signal


def test_the_work_s_result_when_no_signal_comes() -> None:
    async def work() -> int:
        await asyncio.sleep(0.01)
        return 7

    assert asyncio.run(until_signal(work())) == 7


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_cancels_the_work_and_its_finally_runs(sig: signal.Signals) -> None:
    unwound: list[str] = []

    async def work() -> int:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), sig)
        try:
            await asyncio.sleep(30)
        finally:
            unwound.append("released")
        return 7

    result = asyncio.run(until_signal(work()))
    assert isinstance(result, Stopped)
    assert (result.signum, result.name) == (sig, sig.name)
    assert unwound == ["released"]
    # The handlers are gone with the loop's: the default action is back for SIGINT.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_error_of_the_work_is_raised() -> None:
    async def work() -> int:
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        asyncio.run(until_signal(work()))
