"""Fakes of what :class:`streams.agent.KpiAgent` uses of Faust: stream, topic, consumer."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from redis.asyncio import Redis

from ioc_monitor.config import KafkaSettings
from streams.agent import KpiAgent

TOPIC = "t-agent"
DLQ_TOPIC = "t-agent.dlq"


class Stream:
    """What the agent uses of a Faust stream: ``take_events``."""

    def __init__(self, batches: list[list[Any]]) -> None:
        self._batches = batches

    async def take_events(self, _n: int, within: float) -> Any:
        for batch in self._batches:
            yield batch


def event(partition: int, offset: int) -> Any:
    """A Faust event of the source topic (only ``message`` is used)."""
    return SimpleNamespace(
        message=SimpleNamespace(partition=partition, offset=offset, key=b"k", value=b"{}")
    )


class FakeTopic:
    """A dead-letter topic: records what is sent; ``refuse`` decides which sends fail."""

    def __init__(self, refuse: Callable[[bytes], BaseException | None] | None = None) -> None:
        self.sent: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []
        self._refuse = refuse

    def send(self, *, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
        async def acked() -> None:
            error = self._refuse(value) if self._refuse is not None else None
            if error is not None:
                raise error
            self.sent.append((key, value, list(headers)))

        async def queued() -> Any:
            return acked()

        return queued()


class FakeConsumer:
    """Faust's consumer: high-water marks per partition, seeks recorded."""

    def __init__(self, highwaters: dict[int, int] | None = None) -> None:
        self.highwaters = highwaters or {}
        self.seeks: list[tuple[str, int, int]] = []

    def highwater(self, tp: Any) -> int:
        return self.highwaters[tp.partition]

    async def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp.topic, tp.partition, offset))


def make_agent(dlq: FakeTopic, consumer: FakeConsumer, **kwargs: Any) -> KpiAgent:
    """A :class:`KpiAgent` on the fakes; its Redis (port 1) is never reached unless used."""
    return KpiAgent(
        KafkaSettings(bootstrap="127.0.0.1:1", topic=TOPIC, dlq_topic=DLQ_TOPIC, group="g"),
        Redis.from_url("redis://127.0.0.1:1/0"),
        "p",
        {"qn-ttpvhcc"},
        dlq,
        lambda: consumer,
        **kwargs,
    )
