"""Is the data on the wall fresh? The problems the stale-data banner names.

Checked at every browser refresh, from Prometheus (and Alertmanager for the alerts):

- ``prometheus_unreachable`` / ``prometheus_error``: a query got no answer, or an error;
- ``exporter_down``: ``up{job=<exporter job>}`` is 0 for a target; ``exporter_missing``:
  Prometheus has no such target at all;
- ``redis_down``: the exporter answers but cannot read Redis (``ioc_exporter_redis_up 0``);
- ``watermark_stalled``: the watermark (largest event time accepted) has not moved for
  ``stall_after_s`` seconds of wall time. The wall remembers when it last saw it change;
  when it starts, it asks Prometheus whether it changed within the last ``stall_after_s``
  (``changes()``), so a wall started during a stall shows it at once;
- ``alertmanager_unreachable`` / ``alertmanager_error``: the alerts page is stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ioc_monitor import catalogue as c
from services.wall import queries
from services.wall.upstream import PrometheusClient, Sample, UpstreamError

__all__ = ["HealthTracker", "problem_of"]

Json = dict[str, Any]


def problem_of(exc: UpstreamError) -> Json:
    """The banner problem of a failed query: ``<system>_unreachable`` or ``<system>_error``."""
    kind = "unreachable" if exc.unreachable else "error"
    return {"code": f"{exc.system}_{kind}", "detail": exc.detail[:300]}


@dataclass
class HealthTracker:
    """Checks the freshness of the data and remembers the watermark's last change.

    Args:
        prometheus: The Prometheus client.
        exporter_job: Job of the exporter's targets.
        stall_after_s: Seconds without a watermark change before ``watermark_stalled``.
        clock: Wall clock, seconds since the epoch. Default :func:`time.time`.
    """

    prometheus: PrometheusClient
    exporter_job: str
    stall_after_s: float
    clock: Callable[[], float] = time.time
    _watermark: float | None = None
    _changed_at: float | None = None

    @property
    def watermark(self) -> float | None:
        """The last watermark seen (the event clock), seconds since the epoch."""
        return self._watermark

    async def _initial_change(self, now: float) -> float:
        """When the watermark last changed, judged at start-up.

        ``now``, unless Prometheus says it did not change over the last ``stall_after_s``
        seconds (then ``now - stall_after_s``).
        """
        window = max(1, int(self.stall_after_s))
        expr = f"max(changes({c.WATERMARK.name}[{window}s]))"
        count = f"max(count_over_time({c.WATERMARK.name}[{window}s]))"
        try:
            got = await self.prometheus.query_many({"changes": expr, "count": count})
        except UpstreamError:
            return now
        changes, samples = _value(got["changes"]), _value(got["count"])
        if changes == 0 and samples is not None and samples >= 2:
            return now - self.stall_after_s
        return now

    def _track(self, watermark: float | None, now: float) -> None:
        if watermark is not None and watermark != self._watermark:
            self._watermark = watermark
            self._changed_at = now

    async def check(self) -> Json:
        """Query Prometheus and return the health payload.

        Returns:
            ``{"ok": bool, "problems": [{"code", "detail"?, "since"?}], "watermark",
            "last_processed", "checked_at"}``; times in seconds since the epoch.
        """
        now = self.clock()
        problems: list[Json] = []
        try:
            got = await self.prometheus.query_many(queries.health(self.exporter_job))
        except UpstreamError as exc:
            problems.append(problem_of(exc))
            return self._payload(problems, now, None)
        ups: Sequence[Sample] = got["up"]
        if not ups:
            problems.append({"code": "exporter_missing"})
        elif any(s.value == 0 for s in ups):
            problems.append({"code": "exporter_down"})
        if _value(got["redis_up"]) == 0:
            problems.append({"code": "redis_down"})
        watermark = _value(got["watermark"])
        if self._changed_at is None and watermark is not None:
            self._watermark = watermark
            self._changed_at = await self._initial_change(now)
        self._track(watermark, now)
        if self._changed_at is not None and now - self._changed_at >= self.stall_after_s:
            problems.append({"code": "watermark_stalled", "since": self._changed_at})
        return self._payload(problems, now, _value(got["last_processed"]))

    def _payload(self, problems: list[Json], now: float, last: float | None) -> Json:
        return {
            "ok": not problems,
            "problems": problems,
            "watermark": self._watermark,
            "last_processed": last,
            "checked_at": now,
        }


def _value(samples: Sequence[Sample] | Mapping[str, Any] | None) -> float | None:
    if not samples or not isinstance(samples, Sequence):
        return None
    return samples[0].value
