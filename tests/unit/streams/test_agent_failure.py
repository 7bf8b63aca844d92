"""A failing KPI agent: the hook is called and the worker process exits (status 70)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.registry import load_registry
from services.cli.worker import EXIT_AGENT_FAILED
from streams.app import build_app


class _Stream:
    """What the agent uses of a Faust stream: ``take_events``."""

    def __init__(self, batches: list[list[Any]]) -> None:
        self._batches = batches

    async def take_events(self, _n: int, within: float) -> Any:
        for batch in self._batches:
            yield batch


def _event(partition: int, offset: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(partition=partition, offset=offset,
                                                   key=b"k", value=b"{}"))  # fmt: skip


def test_agent_failure_calls_the_hook_then_raises() -> None:
    seen: list[BaseException] = []
    app, processor = build_app(
        KafkaSettings(bootstrap="127.0.0.1:1", topic="t-fail", group="g-fail"),
        RedisSettings(url="redis://127.0.0.1:1/0"),
        load_registry(None),
        on_failure=seen.append,
    )
    applied: list[list[Any]] = []

    async def process(records: list[Any]) -> None:
        if len(applied) == 1:
            raise ValueError("dead-letter topic refused the message")
        applied.append(records)

    processor.process = process  # type: ignore[method-assign]
    fun = app.agents["ioc-kpi"].fun

    async def drive() -> int:
        n = 0
        async for _ in fun(_Stream([[_event(0, 0)], [_event(0, 1)], [_event(0, 2)]])):
            n += 1
        return n

    with pytest.raises(ValueError, match="refused"):
        asyncio.run(drive())
    assert [type(e) for e in seen] == [ValueError]
    assert [[(r.partition, r.offset) for r in b] for b in applied] == [[(0, 0)]]


def test_exit_on_failure_ends_the_process_with_status_70() -> None:
    code = (
        "from services.cli.worker import exit_on_failure\n"
        "exit_on_failure(RuntimeError('topic authorization failed'))\n"
        "print('still running')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == EXIT_AGENT_FAILED == 70
    assert "still running" not in proc.stdout
    assert "the KPI agent failed (RuntimeError: topic authorization failed)" in proc.stderr


def test_faust_data_directory_is_outside_the_working_directory() -> None:
    app, _ = build_app(
        KafkaSettings(bootstrap="127.0.0.1:1", topic="t-dir", group="g-dir"),
        RedisSettings(url="redis://127.0.0.1:1/0"),
        load_registry(None),
    )
    datadir = Path(app.conf.datadir).resolve()
    assert datadir == Path(tempfile.gettempdir()).resolve() / "ioc-faust-g-dir"
    assert Path.cwd().resolve() not in datadir.parents
    # Faust creates the directory with a plain mkdir (no parents): its parent must exist
    assert datadir.parent.is_dir()
