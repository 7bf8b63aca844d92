"""The PromQL of every page of the wall, one named query set per page (pure: no I/O).

The KPI figures (ratios, in progress, overdue, due soon, scorecard, the units with most
overdue dossiers) are the expressions of the panel catalogue
(:mod:`services.panel_catalogue`), the same the Grafana boards show, keyed by the
figure's key and selected with :data:`WHERE` (the ratios in :data:`RATIO_WINDOWS`):
roll-ups read the recording rules of ``deploy/prometheus/rules/ioc-recording.yml``
``or`` the same sum over the per-unit series, never an average of ratios; per-unit
series are taken ``max by`` their own labels with the unit's name joined from
``ioc_unit_info``. The rest (names and supervisors, targets, counts of units, pipeline
health) is written here; targets come from ``ioc_unit_target_ratio``.

Unit ids are embedded in queries only after :func:`check_unit_id` (registry ids are
``[a-z0-9-]{1,64}``), so a URL cannot inject PromQL.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Final, Literal

from ioc_monitor import catalogue as c
from services import panel_catalogue as pc

__all__ = [
    "HISTORY_POINTS",
    "RATIOS",
    "RATIO_WINDOWS",
    "WHERE",
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
    "unit_where",
    "units",
]

Scope = Literal["level", "province"]

#: KPIs that are ratios (the panel catalogue's ratio keys), in display order.
RATIOS: Final = tuple(f.key for f in pc.RATIOS)
#: Windows of the ratios shown: the headline one first.
RATIO_WINDOWS: Final = ("24h", "30d", "month")
#: Points of a history chart (the step is the span divided by this).
HISTORY_POINTS: Final = 240
#: What the pages select: the ratios of :data:`RATIO_WINDOWS`, every scorecard window.
WHERE: Final = pc.Where(window=f'window=~"{"|".join(RATIO_WINDOWS)}"')
#: The charts' ratio window.
_HISTORY_WINDOW: Final = "24h"
#: Figures of the province, level and unit pages.
_PAGE_FIGURES: Final = (*pc.RATIOS, pc.IN_PROGRESS, pc.OVERDUE, *pc.DUE_SOON, pc.SCORECARD)
_UNIT_ID = re.compile(r"[a-z0-9-]{1,64}")


def check_unit_id(unit_id: str) -> bool:
    """Tell whether ``unit_id`` is a well-formed registry id (safe inside PromQL)."""
    return _UNIT_ID.fullmatch(unit_id) is not None


def unit_where(unit_id: str, where: pc.Where = WHERE) -> pc.Where:
    """``where`` narrowed to one unit (``unit_id`` must pass :func:`check_unit_id`).

    Raises:
        ValueError: ``unit_id`` is not a unit id.
    """
    if not check_unit_id(unit_id):
        raise ValueError(f"not a unit id: {unit_id!r}")
    return dataclasses.replace(where, units=f'unit="{unit_id}"')


def ratio_rollup(scope: Scope, kpi: str, windows: Sequence[str] = RATIO_WINDOWS) -> str:
    """A level or province ratio: the recording rule, or the same sum over the units.

    Args:
        scope: ``level`` (by level and window) or ``province`` (by window).
        kpi: One of :data:`RATIOS`.
        windows: Windows wanted. Default :data:`RATIO_WINDOWS`.

    Returns:
        The catalogue's ``<scope>:ioc_<kpi>_ratio:window{window=~...} or (num or 0 * den)
        / (den > 0)``.
    """
    where = pc.Where(window=f'window=~"{"|".join(windows)}"')
    return pc.BY_KEY[kpi].expr(scope, where)


def _figures(scope: pc.Scope, where: pc.Where, figures: Iterable[pc.Figure]) -> dict[str, str]:
    return {f.key: f.expr(scope, where) for f in figures}


def _info(selector: str = "") -> str:
    return f"max by (unit, level, name, supervisor) ({c.UNIT_INFO.name}{selector})"


def overview() -> dict[str, str]:
    """Province figures, the units with the most overdue dossiers, the number of units."""
    queries = _figures("province", WHERE, _PAGE_FIGURES)
    queries |= _figures("unit", WHERE, (pc.WORST_OVERDUE,))
    queries["units"] = f"count({c.UNIT_INFO.name})"
    return queries


def levels() -> dict[str, str]:
    """Figures of each level, its number of units and the range of its targets."""
    queries = _figures("level", WHERE, _PAGE_FIGURES)
    queries["units"] = f"count by (level) ({_info()})"
    target = f"max by (unit, level, kpi) ({c.UNIT_TARGET_RATIO.name})"
    queries["target_min"] = f"min by (level, kpi) ({target})"
    queries["target_max"] = f"max by (level, kpi) ({target})"
    return queries


def _per_unit(where: pc.Where) -> dict[str, str]:
    selector = f"{{{where.units}}}" if where.units else ""
    queries = _figures("unit", where, _PAGE_FIGURES)
    queries["info"] = _info(selector)
    queries["targets"] = f"max by (unit, kpi) ({c.UNIT_TARGET_RATIO.name}{selector})"
    return queries


def units() -> dict[str, str]:
    """Every unit of ``ioc_unit_info`` with its ratios, gauges, targets and scorecard."""
    return _per_unit(WHERE)


def unit(unit_id: str) -> dict[str, str]:
    """The figures of one unit (``unit_id`` must pass :func:`check_unit_id`)."""
    return _per_unit(unit_where(unit_id))


def alerts_units() -> dict[str, str]:
    """Names and levels of the units, to show the alerts' units by name."""
    return {"info": _info()}


_HISTORY: Final = pc.Where(window=f'window="{_HISTORY_WINDOW}"')
_RATIO_CHART: Final = (pc.BY_KEY["on_time"], pc.BY_KEY["online"])


def unit_history(unit_id: str) -> dict[str, str]:
    """Range queries of a unit's charts: on-time and online ratio over 24 h, open dossiers."""
    where = unit_where(unit_id, _HISTORY)
    return _figures("unit", where, (*_RATIO_CHART, pc.IN_PROGRESS, pc.OVERDUE, pc.DUE_SOON[0]))


def province_history() -> dict[str, str]:
    """Range queries of the overview's charts: the province's ratios over 24 h, overdue."""
    return _figures("province", _HISTORY, (*_RATIO_CHART, pc.IN_PROGRESS, pc.OVERDUE))


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
