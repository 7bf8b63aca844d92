"""The PromQL of every page of the wall, one named query set per page (pure: no I/O).

Roll-ups read the recording rules of ``deploy/prometheus/rules/ioc-recording.yml``
(``level:ioc_on_time_ratio:window``, ``province:ioc_dossiers_overdue:sum``, ...); each is
written ``<rule> or <the same sum over the per-unit series>``, so a Prometheus whose rule
files lag behind the catalogue (a ratio or gauge added later) still shows the figure,
computed the way the rules do: ``sum(good) / sum(all)``, never an average of ratios.
Per-unit series are taken ``max by`` their own labels, so exporter replicas scraped as
several targets are not counted twice. Names come from ``ioc_unit_info`` (the
``_info`` idiom: ``* on (unit) group_left (name) ioc_unit_info``), targets from
``ioc_unit_target_ratio``.

Unit ids are embedded in queries only after :func:`check_unit_id` (registry ids are
``[a-z0-9-]{1,64}``), so a URL cannot inject PromQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

from ioc_monitor import catalogue as c

__all__ = [
    "HISTORY_POINTS",
    "RATIOS",
    "RATIO_WINDOWS",
    "alerts_units",
    "check_unit_id",
    "health",
    "levels",
    "overview",
    "pipeline",
    "province_history",
    "ratio_rollup",
    "unit",
    "unit_history",
    "units",
]

Scope = Literal["level", "province"]

#: KPIs that are ratios (METRICS.md ``ioc_<kpi>_ratio``), in display order.
RATIOS: Final = ("on_time", "online", "digitized", "online_payment", "multi_visit", "satisfaction")
#: Windows of the ratios shown: the headline one first.
RATIO_WINDOWS: Final = ("24h", "30d", "month")
#: Points of a history chart (the step is the span divided by this).
HISTORY_POINTS: Final = 240
#: Numerator (metric, selector) and denominator metric of each ratio (KPIS.md, Ratios).
_PARTS: Final = {
    "on_time": (c.WINDOW_COMPLETED.name, 'timeliness=~"early|on_time"', c.WINDOW_COMPLETED.name),
    "online": (
        c.WINDOW_RECEIVED.name,
        'channel=~"online_full|online_partial"',
        c.WINDOW_RECEIVED.name,
    ),
    "digitized": (c.WINDOW_DIGITIZED.name, "", c.WINDOW_RECEIVED.name),
    "online_payment": (c.WINDOW_PAID_ONLINE.name, "", c.WINDOW_COMPLETED_WITH_FEE.name),
    "multi_visit": (c.WINDOW_MULTI_VISIT.name, "", c.WINDOW_COMPLETED.name),
    "satisfaction": (c.WINDOW_RATED.name, 'rating="satisfied"', c.WINDOW_RATED.name),
}
_UNIT_ID = re.compile(r"[a-z0-9-]{1,64}")


def check_unit_id(unit_id: str) -> bool:
    """Tell whether ``unit_id`` is a well-formed registry id (safe inside PromQL)."""
    return _UNIT_ID.fullmatch(unit_id) is not None


def _windows(windows: Sequence[str]) -> str:
    return f'window=~"{"|".join(windows)}"'


def _by(scope: Scope, *extra: str) -> str:
    labels = (("level",) if scope == "level" else ()) + extra
    return f"sum by ({', '.join(labels)})" if labels else "sum"


def ratio_rollup(scope: Scope, kpi: str, windows: Sequence[str] = RATIO_WINDOWS) -> str:
    """A level or province ratio: the recording rule, or the same sum over the units.

    Args:
        scope: ``level`` (by level and window) or ``province`` (by window).
        kpi: One of :data:`RATIOS`.
        windows: Windows wanted. Default :data:`RATIO_WINDOWS`.

    Returns:
        ``<scope>:ioc_<kpi>_ratio:window{window=~...} or (num or 0 * den) / (den > 0)``.
    """
    num_metric, num_sel, den_metric = _PARTS[kpi]
    w = _windows(windows)
    agg = _by(scope, "window")
    num = f"{agg} ({num_metric}{{{w}{',' + num_sel if num_sel else ''}}})"
    den = f"{agg} ({den_metric}{{{w}}})"
    rule = f"{scope}:ioc_{kpi}_ratio:window{{{w}}}"
    return f"{rule} or (({num} or 0 * {den}) / ({den} > 0))"


def _gauge_rollup(scope: Scope, spec: c.MetricSpec, *extra: str) -> str:
    return f"{scope}:{spec.name}:sum or {_by(scope, *extra)} ({spec.name})"


def _rollups(scope: Scope) -> dict[str, str]:
    queries = {f"ratio:{kpi}": ratio_rollup(scope, kpi) for kpi in RATIOS}
    queries["in_progress"] = _gauge_rollup(scope, c.IN_PROGRESS)
    queries["overdue"] = _gauge_rollup(scope, c.OVERDUE)
    queries["due_soon"] = _gauge_rollup(scope, c.DUE_SOON, "within")
    queries["scorecard"] = f"{scope}:{c.SCORECARD_POINTS.name}:window"
    return queries


def _info(selector: str = "") -> str:
    return f"max by (unit, level, name, supervisor) ({c.UNIT_INFO.name}{selector})"


def overview() -> dict[str, str]:
    """Province figures, its target, and the units with the most overdue dossiers."""
    queries = _rollups("province")
    queries["worst_overdue"] = (
        f"topk(5, (max by (unit) ({c.OVERDUE.name}) > 0)"
        f" * on (unit) group_left (name, level) {_info()})"
    )
    queries["units"] = f"count({c.UNIT_INFO.name})"
    return queries


def levels() -> dict[str, str]:
    """Figures of each level, its number of units and the range of its targets."""
    queries = _rollups("level")
    queries["units"] = f"count by (level) ({_info()})"
    target = f"max by (unit, level, kpi) ({c.UNIT_TARGET_RATIO.name})"
    queries["target_min"] = f"min by (level, kpi) ({target})"
    queries["target_max"] = f"max by (level, kpi) ({target})"
    return queries


def _per_unit(selector: str = "") -> dict[str, str]:
    sel = selector.strip("{}")
    comma = f"{sel}," if sel else ""
    w = _windows(RATIO_WINDOWS)
    queries = {
        f"ratio:{kpi}": f"max by (unit, window) (ioc_{kpi}_ratio{{{comma}{w}}})" for kpi in RATIOS
    }
    queries.update(
        info=_info(selector),
        targets=f"max by (unit, kpi) ({c.UNIT_TARGET_RATIO.name}{selector})",
        in_progress=f"max by (unit) ({c.IN_PROGRESS.name}{selector})",
        overdue=f"max by (unit) ({c.OVERDUE.name}{selector})",
        due_soon=f"max by (unit, within) ({c.DUE_SOON.name}{selector})",
        scorecard=f"max by (unit, window, component) ({c.SCORECARD_POINTS.name}{selector})",
    )
    return queries


def units() -> dict[str, str]:
    """Every unit of ``ioc_unit_info`` with its ratios, gauges, targets and scorecard."""
    return _per_unit()


def unit(unit_id: str) -> dict[str, str]:
    """The figures of one unit (``unit_id`` must pass :func:`check_unit_id`)."""
    if not check_unit_id(unit_id):
        raise ValueError(f"not a unit id: {unit_id!r}")
    return _per_unit(f'{{unit="{unit_id}"}}')


def alerts_units() -> dict[str, str]:
    """Names and levels of the units, to show the alerts' units by name."""
    return {"info": _info()}


def unit_history(unit_id: str) -> dict[str, str]:
    """Range queries of a unit's charts: on-time and online ratio over 24 h, open dossiers."""
    if not check_unit_id(unit_id):
        raise ValueError(f"not a unit id: {unit_id!r}")
    sel = f'unit="{unit_id}"'
    return {
        "on_time": f'max(ioc_on_time_ratio{{{sel},window="24h"}})',
        "online": f'max(ioc_online_ratio{{{sel},window="24h"}})',
        "in_progress": f"max({c.IN_PROGRESS.name}{{{sel}}})",
        "overdue": f"max({c.OVERDUE.name}{{{sel}}})",
        "due_soon_24h": f'max({c.DUE_SOON.name}{{{sel},within="24h"}})',
    }


def province_history() -> dict[str, str]:
    """Range queries of the overview's charts: the province's ratios over 24 h, overdue."""
    return {
        "on_time": ratio_rollup("province", "on_time", ("24h",)),
        "online": ratio_rollup("province", "online", ("24h",)),
        "in_progress": _gauge_rollup("province", c.IN_PROGRESS),
        "overdue": _gauge_rollup("province", c.OVERDUE),
    }


def pipeline(exporter_job: str) -> dict[str, str]:
    """Pipeline health: lag, watermark and its age, processed, duplicates, rejects, up."""
    rate = "rate({}[5m])"
    return {
        "lag": f"max by (partition) ({c.CONSUMER_LAG.name})",
        "watermark": f"max({c.WATERMARK.name})",
        "watermark_age": f"time() - max({c.WATERMARK.name})",
        "last_processed_age": f"time() - max({c.LAST_PROCESSED.name})",
        "processed": f"max({c.EVENTS_PROCESSED.name})",
        "processed_rate": f"max({rate.format(c.EVENTS_PROCESSED.name)})",
        "duplicate": f"max({c.EVENTS_DUPLICATE.name})",
        "rejected": f"max by (reason) ({c.EVENTS_REJECTED.name})",
        "rejected_rate": f"max by (reason) ({rate.format(c.EVENTS_REJECTED.name)})",
        "up": f'up{{job="{exporter_job}"}}',
        "redis_up": f"min({c.EXPORTER_REDIS_UP.name})",
        "scrape_s": f"max({c.EXPORTER_SCRAPE_SECONDS.name})",
        "stalled": f"max by (partition) ({c.PARTITION_STALLED.name}) > 0",
    }


def health(exporter_job: str) -> dict[str, str]:
    """What the stale banner needs: exporter ``up``, its Redis, the watermark."""
    return {
        "up": f'up{{job="{exporter_job}"}}',
        "redis_up": f"min({c.EXPORTER_REDIS_UP.name})",
        "watermark": f"max({c.WATERMARK.name})",
        "last_processed": f"max({c.LAST_PROCESSED.name})",
    }
