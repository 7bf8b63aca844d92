"""A prometheus-client custom collector that renders a :class:`Snapshot`.

Used both by the exporter (snapshot read from Redis at scrape time) and by
``ioc kpi --format prometheus`` (snapshot from the in-memory store), so the two
expositions are the same for the same events at the same clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ioc_monitor import catalogue as c
from ioc_monitor.events import CHANNELS
from ioc_monitor.registry import UnitRegistry
from ioc_monitor.rules import TIMELINESS
from ioc_monitor.snapshot import Snapshot
from ioc_monitor.windows import WINDOWS

__all__ = ["SnapshotCollector", "render_snapshot"]


def _family(spec: c.MetricSpec) -> CounterMetricFamily | GaugeMetricFamily:
    labels = list(spec.labels)
    if spec.kind == "counter":
        return CounterMetricFamily(spec.family, spec.help, labels=labels)
    return GaugeMetricFamily(spec.family, spec.help, labels=labels)


def render_snapshot(snap: Snapshot, units: UnitRegistry) -> list[Metric]:
    """Turn a snapshot into metric families.

    Series present (METRICS.md): per unit that has seen an accepted event and is in
    the registry, every counter label value (zeros included), in-progress and
    overdue gauges, non-zero window counts, and each ratio whose denominator in the
    window is > 0. Pipeline counters always, with every rejection reason; the
    watermark once something was accepted; consumer lag per partition when known; and,
    beyond METRICS.md, ``ioc_consumer_partition_stalled`` 1 for each partition the
    worker keeps paused at a batch it cannot decode (absent otherwise, and offline).

    Expected exposition (abridged)::

        ioc_dossiers_received_total{unit="qn-ttpvhcc",level="province",channel="online_full"} 3.0
        ioc_dossiers_completed_total{unit="qn-ttpvhcc",level="province",timeliness="early"} 2.0
        ioc_window_dossiers_completed{unit="qn-ttpvhcc",level="province",window="24h",\
            timeliness="late"} 1.0
        ioc_on_time_ratio{unit="qn-ttpvhcc",level="province",window="24h"} 0.6666666666666666
        ioc_events_rejected_total{reason="schema"} 1.0

    Args:
        snap: Figures at one clock.
        units: The unit registry (labels; units not in it are not exposed).

    Returns:
        One family per metric of the catalogue, in catalogue order, then the
        pipeline-health families (:data:`ioc_monitor.catalogue.PIPELINE_HEALTH_METRICS`).
    """
    fam = {spec.name: _family(spec) for spec in (*c.CATALOGUE, *c.PIPELINE_HEALTH_METRICS)}
    for unit in units:
        fig = snap.units.get(unit.id)
        if fig is None:
            continue
        base = [unit.id, unit.level]
        for ch in CHANNELS:
            fam[c.RECEIVED_TOTAL.name].add_metric(
                [*base, ch], float(fig.totals.get(f"received:{ch}", 0))
            )
        for tl in TIMELINESS:
            fam[c.COMPLETED_TOTAL.name].add_metric(
                [*base, tl], float(fig.totals.get(f"completed:{tl}", 0))
            )
        fam[c.REFUSED_TOTAL.name].add_metric(base, float(fig.totals.get("refused", 0)))
        fam[c.IN_PROGRESS.name].add_metric(base, float(fig.in_progress))
        fam[c.OVERDUE.name].add_metric(base, float(fig.overdue))
        for window in WINDOWS:
            counts = fig.windows.get(window)
            if not counts:
                continue
            for ch in CHANNELS:
                n = counts.get(f"received:{ch}", 0)
                if n:
                    fam[c.WINDOW_RECEIVED.name].add_metric([*base, window, ch], float(n))
            for tl in TIMELINESS:
                n = counts.get(f"completed:{tl}", 0)
                if n:
                    fam[c.WINDOW_COMPLETED.name].add_metric([*base, window, tl], float(n))
            done = sum(counts.get(f"completed:{tl}", 0) for tl in TIMELINESS)
            if done > 0:
                good = counts.get("completed:early", 0) + counts.get("completed:on_time", 0)
                fam[c.ON_TIME_RATIO.name].add_metric([*base, window], good / done)
            received = sum(counts.get(f"received:{ch}", 0) for ch in CHANNELS)
            if received > 0:
                online = counts.get("received:online_full", 0) + counts.get(
                    "received:online_partial", 0
                )
                fam[c.ONLINE_RATIO.name].add_metric([*base, window], online / received)
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
