"""A failing KPI agent: the hook is called and the worker process exits (status 70)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from faust.types import TP

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.registry import load_registry
from streams.agent import KpiAgent
from streams.app import build_app
from streams.fast_consumer import IocApp
from streams.worker import EXIT_AGENT_FAILED
from tests.unit.streams.fakes import FakeConsumer, FakeTopic, Stream, event, make_agent


def test_agent_failure_calls_the_hook_then_raises() -> None:
    seen: list[BaseException] = []
    agent = make_agent(FakeTopic(), FakeConsumer(), on_failure=seen.append)
    applied: list[Sequence[Any]] = []

    async def process(records: Sequence[Any]) -> None:
        if len(applied) == 1:
            raise ValueError("dead-letter topic refused the message")
        applied.append(records)

    agent.processor.process = process  # type: ignore[method-assign]

    async def drive() -> int:
        n = 0
        async for _ in agent.run(Stream([[event(0, 0)], [event(0, 1)], [event(0, 2)]])):
            n += 1
        return n

    with pytest.raises(ValueError, match="refused"):
        asyncio.run(drive())
    assert [type(e) for e in seen] == [ValueError]
    assert [[(r.partition, r.offset) for r in b] for b in applied] == [[(0, 0)]]


def test_exit_on_failure_ends_the_process_with_status_70() -> None:
    code = (
        "from streams.worker import exit_on_failure\n"
        "exit_on_failure(RuntimeError('topic authorization failed'))\n"
        "print('still running')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == EXIT_AGENT_FAILED == 70
    assert "still running" not in proc.stdout
    assert "the KPI agent failed (RuntimeError: topic authorization failed)" in proc.stderr


def test_build_app_wires_one_kpi_agent_and_its_seek_hook() -> None:
    app, processor = build_app(
        KafkaSettings(bootstrap="127.0.0.1:1", topic="t-wire", group="g-wire"),
        RedisSettings(url="redis://127.0.0.1:1/0"),
        load_registry(None),
    )
    assert list(app.agents) == ["ioc-kpi"]
    agent = app.agents["ioc-kpi"].fun.__self__
    assert isinstance(agent, KpiAgent) and agent.processor is processor
    assert list(app.agents["ioc-kpi"].channel.topics) == ["t-wire"]
    assert isinstance(app, IocApp)
    assert app.on_partition_stalled == agent.partition_stalled  # the consumer's stall hook
    asked: list[int] = []

    async def stored_offset(partition: int) -> None:
        asked.append(partition)

    processor.stored_offset = stored_offset  # type: ignore[method-assign]
    asyncio.run(app.on_partitions_assigned.send({TP("t-wire", 2), TP("other", 0)}))
    assert asked == [2]  # the seek hook ran, for the source topic only


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
