"""The one metric catalogue (METRICS.md v2).

The exporter's collector, the offline exposition, the Prometheus recording and alert
rules and the Grafana dashboards are all generated from these definitions, so names
and labels cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from ioc_monitor.events import RATINGS  # the ``rating`` label values, re-exported
from ioc_monitor.kpis import SCORECARD_WEIGHTS

__all__ = [
    "CATALOGUE",
    "COMPLETED_TOTAL",
    "COMPLETED_WITH_FEE_TOTAL",
    "CONSUMER_LAG",
    "DIGITIZED_RATIO",
    "DIGITIZED_TOTAL",
    "DUE_SOON",
    "DUE_SOON_WITHIN",
    "EVENTS_DUPLICATE",
    "EVENTS_PROCESSED",
    "EVENTS_REJECTED",
    "EXPORTER_METRICS",
    "EXPORTER_REDIS_UP",
    "EXPORTER_SCRAPE_SECONDS",
    "IN_PROGRESS",
    "LAST_PROCESSED",
    "MULTI_VISIT_RATIO",
    "MULTI_VISIT_TOTAL",
    "ONLINE_PAYMENT_RATIO",
    "ONLINE_RATIO",
    "ON_TIME_RATIO",
    "OVERDUE",
    "PAID_ONLINE_TOTAL",
    "PARTITION_STALLED",
    "PIPELINE_HEALTH_METRICS",
    "RATED_TOTAL",
    "RATINGS",
    "RECEIVED_TOTAL",
    "REFUSED_TOTAL",
    "SATISFACTION_RATIO",
    "SCORECARD_COMPONENTS",
    "SCORECARD_POINTS",
    "SCORECARD_WINDOWS",
    "TARGET_KPIS",
    "UNIT_INFO",
    "UNIT_TARGET_RATIO",
    "WATERMARK",
    "WINDOW_COMPLETED",
    "WINDOW_COMPLETED_WITH_FEE",
    "WINDOW_DIGITIZED",
    "WINDOW_MULTI_VISIT",
    "WINDOW_PAID_ONLINE",
    "WINDOW_RATED",
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

#: ``within`` label values of :data:`DUE_SOON`, with their length in seconds.
DUE_SOON_WITHIN: Final = (("24h", 24 * 3600), ("72h", 72 * 3600))
#: Windows of the scorecard (the national dashboard's periods).
SCORECARD_WINDOWS: Final = ("month", "quarter", "year")
#: Scorecard components with their weight in points (KPIS.md v2, Scorecard).
SCORECARD_COMPONENTS: Final = tuple(SCORECARD_WEIGHTS.items())
#: ``kpi`` label values of :data:`UNIT_TARGET_RATIO`.
TARGET_KPIS: Final = ("on_time", "online")

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
DUE_SOON: Final = MetricSpec(
    "ioc_dossiers_due_soon",
    "gauge",
    "Dossiers in progress due within 24h or 72h after the clock (due time in (T, T + within]).",
    (*_UNIT, "within"),
)
DIGITIZED_TOTAL: Final = MetricSpec(
    "ioc_dossiers_digitized_total",
    "counter",
    "Receipts whose receiving event had digitized: true (counted at received_at).",
    _UNIT,
)
COMPLETED_WITH_FEE_TOTAL: Final = MetricSpec(
    "ioc_dossiers_completed_with_fee_total",
    "counter",
    "Completions of dossiers with a fee (fee_required, paid_online or status 6 up to completion).",
    _UNIT,
)
PAID_ONLINE_TOTAL: Final = MetricSpec(
    "ioc_dossiers_paid_online_total",
    "counter",
    "Completions of dossiers whose fees were paid online (paid_online up to completion).",
    _UNIT,
)
MULTI_VISIT_TOTAL: Final = MetricSpec(
    "ioc_dossiers_multi_visit_total",
    "counter",
    "Completions of dossiers whose applicant came in person 3 or more times.",
    _UNIT,
)
RATED_TOTAL: Final = MetricSpec(
    "ioc_dossiers_rated_total",
    "counter",
    "Dossiers rated by the applicant (first rating, at its occurred_at), by rating.",
    (*_UNIT, "rating"),
)
WINDOW_DIGITIZED: Final = MetricSpec(
    "ioc_window_dossiers_digitized",
    "gauge",
    "Digitised receipts in the event-time window.",
    (*_UNIT, "window"),
)
WINDOW_COMPLETED_WITH_FEE: Final = MetricSpec(
    "ioc_window_dossiers_completed_with_fee",
    "gauge",
    "Completions with a fee in the event-time window.",
    (*_UNIT, "window"),
)
WINDOW_PAID_ONLINE: Final = MetricSpec(
    "ioc_window_dossiers_paid_online",
    "gauge",
    "Completions paid online in the event-time window.",
    (*_UNIT, "window"),
)
WINDOW_MULTI_VISIT: Final = MetricSpec(
    "ioc_window_dossiers_multi_visit",
    "gauge",
    "Completions with 3 or more in-person visits in the event-time window.",
    (*_UNIT, "window"),
)
WINDOW_RATED: Final = MetricSpec(
    "ioc_window_dossiers_rated",
    "gauge",
    "First ratings in the event-time window, by rating.",
    (*_UNIT, "window", "rating"),
)
DIGITIZED_RATIO: Final = MetricSpec(
    "ioc_digitized_ratio",
    "gauge",
    "digitised / received in the window; absent when nothing received.",
    (*_UNIT, "window"),
)
ONLINE_PAYMENT_RATIO: Final = MetricSpec(
    "ioc_online_payment_ratio",
    "gauge",
    "paid online / completed with fee in the window; absent when no completion had a fee.",
    (*_UNIT, "window"),
)
MULTI_VISIT_RATIO: Final = MetricSpec(
    "ioc_multi_visit_ratio",
    "gauge",
    "multi-visit / completed in the window; absent when nothing completed.",
    (*_UNIT, "window"),
)
SATISFACTION_RATIO: Final = MetricSpec(
    "ioc_satisfaction_ratio",
    "gauge",
    "satisfied / rated in the window; absent when nothing was rated.",
    (*_UNIT, "window"),
)
SCORECARD_POINTS: Final = MetricSpec(
    "ioc_scorecard_points",
    "gauge",
    "Decision 766 scorecard points (KPIS.md v2) of a component in a month, quarter or year "
    "window; absent when the component's denominator is 0.",
    (*_UNIT, "window", "component"),
)
UNIT_INFO: Final = MetricSpec(
    "ioc_unit_info",
    "gauge",
    "Every unit of the registry, always 1, with its name and supervisor (empty when none).",
    (*_UNIT, "name", "supervisor"),
)
UNIT_TARGET_RATIO: Final = MetricSpec(
    "ioc_unit_target_ratio",
    "gauge",
    "The unit's target from the registry: on_time (on-time ratio) or online (online ratio).",
    (*_UNIT, "kpi"),
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
    DUE_SOON,
    DIGITIZED_TOTAL,
    COMPLETED_WITH_FEE_TOTAL,
    PAID_ONLINE_TOTAL,
    MULTI_VISIT_TOTAL,
    RATED_TOTAL,
    WINDOW_DIGITIZED,
    WINDOW_COMPLETED_WITH_FEE,
    WINDOW_PAID_ONLINE,
    WINDOW_MULTI_VISIT,
    WINDOW_RATED,
    DIGITIZED_RATIO,
    ONLINE_PAYMENT_RATIO,
    MULTI_VISIT_RATIO,
    SATISFACTION_RATIO,
    SCORECARD_POINTS,
    UNIT_INFO,
    UNIT_TARGET_RATIO,
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
