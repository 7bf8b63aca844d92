"""A prometheus-client custom collector that renders a :class:`Snapshot`.

Used both by the exporter (snapshot read from Redis at scrape time) and by
``ioc kpi --format prometheus`` (snapshot from the in-memory store), so the two
expositions are the same for the same events at the same clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ioc_monitor import catalogue as c
from ioc_monitor.events import CHANNELS
from ioc_monitor.kpis import ratios, scorecard
from ioc_monitor.registry import UnitRegistry
from ioc_monitor.rules import TIMELINESS
from ioc_monitor.snapshot import Snapshot, UnitFigures
from ioc_monitor.windows import WINDOWS

__all__ = ["SnapshotCollector", "render_snapshot"]


def _family(spec: c.MetricSpec) -> CounterMetricFamily | GaugeMetricFamily:
    labels = list(spec.labels)
    if spec.kind == "counter":
        return CounterMetricFamily(spec.family, spec.help, labels=labels)
    return GaugeMetricFamily(spec.family, spec.help, labels=labels)


#: Counter of each all-time series with no extra label.
_PLAIN_COUNTERS: Final = (
    (c.REFUSED_TOTAL, "refused"),
    (c.DIGITIZED_TOTAL, "digitized"),
    (c.COMPLETED_WITH_FEE_TOTAL, "completed_with_fee"),
    (c.PAID_ONLINE_TOTAL, "paid_online"),
    (c.MULTI_VISIT_TOTAL, "multi_visit"),
)
#: Counters with one extra label: (metric, series prefix, label values).
_LABELLED_COUNTERS: Final = (
    (c.RECEIVED_TOTAL, "received", CHANNELS),
    (c.COMPLETED_TOTAL, "completed", TIMELINESS),
    (c.RATED_TOTAL, "rated", c.RATINGS),
)
#: Window gauges: (metric, series prefix, label values or () for a plain series).
_WINDOW_GAUGES: Final[tuple[tuple[c.MetricSpec, str, tuple[str, ...]], ...]] = (
    (c.WINDOW_RECEIVED, "received", CHANNELS),
    (c.WINDOW_COMPLETED, "completed", TIMELINESS),
    (c.WINDOW_DIGITIZED, "digitized", ()),
    (c.WINDOW_COMPLETED_WITH_FEE, "completed_with_fee", ()),
    (c.WINDOW_PAID_ONLINE, "paid_online", ()),
    (c.WINDOW_MULTI_VISIT, "multi_visit", ()),
    (c.WINDOW_RATED, "rated", c.RATINGS),
)
#: The ratio metric of each :data:`ioc_monitor.kpis.RATIOS` name.
_RATIO_METRICS: Final = {
    "on_time": c.ON_TIME_RATIO,
    "online": c.ONLINE_RATIO,
    "digitized": c.DIGITIZED_RATIO,
    "online_payment": c.ONLINE_PAYMENT_RATIO,
    "multi_visit": c.MULTI_VISIT_RATIO,
    "satisfaction": c.SATISFACTION_RATIO,
}


def _unit_series(
    fam: dict[str, CounterMetricFamily | GaugeMetricFamily], base: list[str], fig: UnitFigures
) -> None:
    """Add one unit's counters, gauges, window counts, ratios and scorecard."""
    totals = fig.totals
    for spec, prefix, values in _LABELLED_COUNTERS:
        family = fam[spec.name]
        for value in values:
            family.add_metric([*base, value], float(totals.get(f"{prefix}:{value}", 0)))
    for spec, series in _PLAIN_COUNTERS:
        fam[spec.name].add_metric(base, float(totals.get(series, 0)))
    fam[c.IN_PROGRESS.name].add_metric(base, float(fig.in_progress))
    fam[c.OVERDUE.name].add_metric(base, float(fig.overdue))
    for within, n in fig.due_soon.items():
        fam[c.DUE_SOON.name].add_metric([*base, within], float(n))
    for window in WINDOWS:
        counts = fig.windows.get(window)
        if not counts:
            continue
        at = [*base, window]
        for spec, prefix, labels in _WINDOW_GAUGES:
            family = fam[spec.name]
            if not labels:
                n = counts.get(prefix, 0)
                if n:
                    family.add_metric(at, float(n))
                continue
            for label in labels:
                n = counts.get(f"{prefix}:{label}", 0)
                if n:
                    family.add_metric([*at, label], float(n))
        for name, ratio in ratios(counts).items():
            fam[_RATIO_METRICS[name].name].add_metric(at, ratio)
    for window in c.SCORECARD_WINDOWS:
        points = scorecard(fig.windows.get(window, {}), fig.in_progress, fig.overdue)
        for component, score in points.items():
            fam[c.SCORECARD_POINTS.name].add_metric([*base, window, component], score)


def render_snapshot(snap: Snapshot, units: UnitRegistry) -> list[Metric]:
    """Turn a snapshot into metric families.

    Series present (METRICS.md v2): per unit that has seen an accepted event and is in
    the registry, every counter label value (zeros included), the in-progress, overdue
    and due-soon gauges, non-zero window counts, each ratio whose denominator in the
    window is > 0 and each scorecard component whose denominator is > 0 (KPIS.md). For
    every unit of the registry, seen or not, ``ioc_unit_info`` and its two
    ``ioc_unit_target_ratio``. Pipeline counters always, with every rejection reason;
    the watermark once something was accepted; consumer lag per partition when known;
    and, beyond METRICS.md, ``ioc_consumer_partition_stalled`` 1 for each partition the
    worker keeps paused at a batch it cannot decode (absent otherwise, and offline).

    Expected exposition (abridged)::

        ioc_dossiers_received_total{unit="qn-ttpvhcc",level="province",channel="online_full"} 3.0
        ioc_dossiers_completed_total{unit="qn-ttpvhcc",level="province",timeliness="early"} 2.0
        ioc_window_dossiers_completed{unit="qn-ttpvhcc",level="province",window="24h",\
            timeliness="late"} 1.0
        ioc_on_time_ratio{unit="qn-ttpvhcc",level="province",window="24h"} 0.6666666666666666
        ioc_scorecard_points{unit="qn-ttpvhcc",level="province",window="month",\
            component="online"} 12.0
        ioc_unit_info{unit="qn-ttpvhcc",level="province",\
            name="Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",supervisor="qn-centre"} 1.0
        ioc_unit_target_ratio{unit="qn-ttpvhcc",level="province",kpi="on_time"} 0.999
        ioc_events_rejected_total{reason="schema"} 1.0

    Args:
        snap: Figures at one clock.
        units: The unit registry (labels; units not in it are not exposed).

    Returns:
        One family per metric of the catalogue, in catalogue order, then the
        pipeline-health families (:data:`ioc_monitor.catalogue.PIPELINE_HEALTH_METRICS`).
    """
    fam = {spec.name: _family(spec) for spec in (*c.CATALOGUE, *c.PIPELINE_HEALTH_METRICS)}
    info, target = fam[c.UNIT_INFO.name], fam[c.UNIT_TARGET_RATIO.name]
    for unit in units:
        base = [unit.id, unit.level]
        info.add_metric([*base, unit.name, unit.supervisor or ""], 1.0)
        target.add_metric([*base, "on_time"], unit.on_time_target)
        target.add_metric([*base, "online"], unit.online_target)
        fig = snap.units.get(unit.id)
        if fig is not None:
            _unit_series(fam, base, fig)
    fam[c.EVENTS_PROCESSED.name].add_metric([], float(snap.processed))
    for reason, n in snap.rejected.items():
        fam[c.EVENTS_REJECTED.name].add_metric([reason], float(n))
    fam[c.EVENTS_DUPLICATE.name].add_metric([], float(snap.duplicate))
    if snap.watermark is not None:
        fam[c.WATERMARK.name].add_metric([], snap.watermark)
    if snap.last_processed is not None:
        fam[c.LAST_PROCESSED.name].add_metric([], snap.last_processed)
    for partition, lag in sorted(snap.lag.items()):
        fam[c.CONSUMER_LAG.name].add_metric([str(partition)], float(lag))
    for partition in sorted(snap.stalled):
        fam[c.PARTITION_STALLED.name].add_metric([str(partition)], 1.0)
    return list(fam.values())


class SnapshotCollector(Collector):
    """Collector that takes a fresh snapshot at every scrape.

    Args:
        source: Called at scrape time; returns the snapshot to render. Nothing is
            called at registration (``describe`` returns no metrics).
        units: The unit registry.
    """

    def __init__(self, source: Callable[[], Snapshot], units: UnitRegistry) -> None:
        self._source = source
        self._units = units

    def describe(self) -> Iterator[Metric]:
        """Return nothing, so registering never calls the source."""
        return iter(())

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family of the current snapshot."""
        yield from render_snapshot(self._source(), self._units)
