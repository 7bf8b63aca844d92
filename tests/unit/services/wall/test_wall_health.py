from __future__ import annotations

import asyncio
from collections.abc import Mapping

from services.wall.health import HealthTracker
from services.wall.upstream import Sample, UpstreamError


class FakePrometheus:
    """Answers ``query_many`` from a dict of query-name → samples (or raises)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Sample]] = {}
        self.error: UpstreamError | None = None
        self.changes: float | None = None

    async def query_many(self, exprs: Mapping[str, str]) -> dict[str, list[Sample]]:
        if self.error is not None:
            raise self.error
        if "changes" in exprs:
            if self.changes is None:
                return {"changes": [], "count": []}
            return {"changes": [Sample({}, self.changes)], "count": [Sample({}, 10)]}
        return {k: self.answers.get(k, []) for k in exprs}


def tracker(prom: FakePrometheus, now: list[float]) -> HealthTracker:
    return HealthTracker(prom, "ioc-exporter", 60.0, clock=lambda: now[0])  # type: ignore[arg-type]


def codes(payload: dict[str, object]) -> list[str]:
    return [p["code"] for p in payload["problems"]]  # type: ignore[attr-defined,index]


def test_fresh_data_then_a_stalled_watermark() -> None:
    prom, now = FakePrometheus(), [1000.0]
    prom.answers = {
        "up": [Sample({}, 1)],
        "redis_up": [Sample({}, 1)],
        "watermark": [Sample({}, 5)],
    }
    prom.changes = 1
    t = tracker(prom, now)
    first = asyncio.run(t.check())
    assert first["ok"] is True and codes(first) == []
    assert t.watermark == 5
    now[0] = 1059.0
    assert codes(asyncio.run(t.check())) == []
    now[0] = 1060.0
    stalled = asyncio.run(t.check())
    assert stalled["problems"] == [{"code": "watermark_stalled", "since": 1000.0}]
    prom.answers["watermark"] = [Sample({}, 6)]  # a new event: fresh again
    assert codes(asyncio.run(t.check())) == []


def test_a_wall_started_during_a_stall_shows_it_at_once() -> None:
    prom, now = FakePrometheus(), [1000.0]
    prom.answers = {"up": [Sample({}, 1)], "watermark": [Sample({}, 5)]}
    prom.changes = 0
    got = asyncio.run(tracker(prom, now).check())
    assert got["problems"] == [{"code": "watermark_stalled", "since": 940.0}]


def test_exporter_down_missing_redis_down_prometheus_unreachable() -> None:
    prom, now = FakePrometheus(), [1000.0]
    t = tracker(prom, now)
    prom.answers = {"up": [Sample({"instance": "a"}, 1), Sample({"instance": "b"}, 0)]}
    assert codes(asyncio.run(t.check())) == ["exporter_down"]
    prom.answers = {"redis_up": [Sample({}, 0)]}
    assert codes(asyncio.run(t.check())) == ["exporter_missing", "redis_down"]
    prom.error = UpstreamError("prometheus", True, "ConnectError: refused")
    got = asyncio.run(t.check())
    assert got["problems"] == [
        {"code": "prometheus_unreachable", "detail": "ConnectError: refused"}
    ]
    prom.error = UpstreamError("prometheus", False, "HTTP 400: bad_data")
    assert codes(asyncio.run(t.check())) == ["prometheus_error"]
