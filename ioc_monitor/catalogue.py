"""The one metric catalogue (METRICS.md v1).

The exporter's collector, the offline exposition, the Prometheus recording and alert
rules and the Grafana dashboards are all generated from these definitions, so names
and labels cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "CATALOGUE",
    "COMPLETED_TOTAL",
    "CONSUMER_LAG",
    "EVENTS_DUPLICATE",
    "EVENTS_PROCESSED",
    "EVENTS_REJECTED",
    "EXPORTER_METRICS",
    "EXPORTER_REDIS_UP",
    "EXPORTER_SCRAPE_SECONDS",
    "IN_PROGRESS",
    "LAST_PROCESSED",
    "ONLINE_RATIO",
    "ON_TIME_RATIO",
    "OVERDUE",
    "PARTITION_STALLED",
    "PIPELINE_HEALTH_METRICS",
    "RECEIVED_TOTAL",
    "REFUSED_TOTAL",
    "WATERMARK",
    "WINDOW_COMPLETED",
    "WINDOW_RECEIVED",
    "MetricSpec",
]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One exported metric.

    Attributes:
        name: Sample name as it appears in the exposition (counters end in ``_total``).
        kind: ``counter`` or ``gauge``.
        help: HELP text.
        labels: Label names, in order (per-unit metrics start with ``unit``, ``level``).
    """

    name: str
    kind: Literal["counter", "gauge"]
    help: str
    labels: tuple[str, ...]

    @property
    def family(self) -> str:
        """Family name as passed to prometheus-client (without ``_total``)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name


_UNIT: Final = ("unit", "level")

RECEIVED_TOTAL: Final = MetricSpec(
    "ioc_dossiers_received_total",
    "counter",
    "Dossiers received, by receipt channel (counted once per dossier at received_at).",
    (*_UNIT, "channel"),
)
COMPLETED_TOTAL: Final = MetricSpec(
    "ioc_dossiers_completed_total",
    "counter",
    "Dossiers whose processing ended, by timeliness against the due date.",
    (*_UNIT, "timeliness"),
)
REFUSED_TOTAL: Final = MetricSpec(
    "ioc_dossiers_refused_total", "counter", "Dossiers refused at intake.", _UNIT
)
IN_PROGRESS: Final = MetricSpec(
    "ioc_dossiers_in_progress", "gauge", "Dossiers received and not yet completed.", _UNIT
)
OVERDUE: Final = MetricSpec(
    "ioc_dossiers_overdue",
    "gauge",
    "Dossiers in progress whose due time is before the clock.",
    _UNIT,
)
WINDOW_RECEIVED: Final = MetricSpec(
    "ioc_window_dossiers_received",
    "gauge",
    "Dossiers received in the event-time window, by channel.",
    (*_UNIT, "window", "channel"),
)
WINDOW_COMPLETED: Final = MetricSpec(
    "ioc_window_dossiers_completed",
    "gauge",
    "Dossiers completed in the event-time window, by timeliness.",
    (*_UNIT, "window", "timeliness"),
)
ON_TIME_RATIO: Final = MetricSpec(
    "ioc_on_time_ratio",
    "gauge",
    "(early + on_time) / completed in the window; absent when nothing completed.",
    (*_UNIT, "window"),
)
ONLINE_RATIO: Final = MetricSpec(
    "ioc_online_ratio",
    "gauge",
    "(online_full + online_partial) / received in the window; absent when nothing received.",
    (*_UNIT, "window"),
)
EVENTS_PROCESSED: Final = MetricSpec(
    "ioc_events_processed_total", "counter", "Messages accepted and applied.", ()
)
EVENTS_REJECTED: Final = MetricSpec(
    "ioc_events_rejected_total",
    "counter",
    "Messages rejected to the dead-letter topic, by reason.",
    ("reason",),
)
EVENTS_DUPLICATE: Final = MetricSpec(
    "ioc_events_duplicate_total",
    "counter",
    "Messages whose event_id was already accepted.",
    (),
)
WATERMARK: Final = MetricSpec(
    "ioc_event_watermark_timestamp_seconds",
    "gauge",
    "Largest occurred_at of all accepted events (the event clock).",
    (),
)
LAST_PROCESSED: Final = MetricSpec(
    "ioc_last_event_processed_timestamp_seconds",
    "gauge",
    "Wall time at which the last message was processed.",
    (),
)
CONSUMER_LAG: Final = MetricSpec(
    "ioc_consumer_lag_messages",
    "gauge",
    "Messages in the partition not yet applied by the worker.",
    ("partition",),
)

#: Every metric of METRICS.md, in exposition order.
CATALOGUE: Final = (
    RECEIVED_TOTAL,
    COMPLETED_TOTAL,
    REFUSED_TOTAL,
    IN_PROGRESS,
    OVERDUE,
    WINDOW_RECEIVED,
    WINDOW_COMPLETED,
    ON_TIME_RATIO,
    ONLINE_RATIO,
    EVENTS_PROCESSED,
    EVENTS_REJECTED,
    EVENTS_DUPLICATE,
    WATERMARK,
    LAST_PROCESSED,
    CONSUMER_LAG,
)

EXPORTER_REDIS_UP: Final = MetricSpec(
    "ioc_exporter_redis_up",
    "gauge",
    "1 if the exporter read Redis at this scrape, 0 if Redis could not be read.",
    (),
)
EXPORTER_SCRAPE_SECONDS: Final = MetricSpec(
    "ioc_exporter_scrape_duration_seconds",
    "gauge",
    "Seconds the exporter spent reading Redis and rendering this scrape.",
    (),
)
#: The exporter's own health metrics (not in METRICS.md; never produced by ``ioc kpi``).
EXPORTER_METRICS: Final = (EXPORTER_REDIS_UP, EXPORTER_SCRAPE_SECONDS)

PARTITION_STALLED: Final = MetricSpec(
    "ioc_consumer_partition_stalled",
    "gauge",
    "1 while the worker keeps the partition paused at a record batch it cannot decode "
    "(see its log; nothing is skipped, the other partitions go on); present only then.",
    ("partition",),
)
#: Pipeline health beyond METRICS.md (a project addition): exposed after the catalogue's
#: metrics by the exporter, never by ``ioc kpi`` (a stall is a live consumer's state).
PIPELINE_HEALTH_METRICS: Final = (PARTITION_STALLED,)
