"""The on-time objective: recorded error ratios and volumes, and the burn-rate conditions.

Each unit's objective is its registry target ``ioc_unit_target_ratio{kpi="on_time"}``
(served by the exporter); its error budget is ``1 - target``. The late share of
completions is recorded per unit over 5m, 30m, 1h, 6h and 3d from counter rates (never
from averaged ratios), absent when the unit completed nothing in the range. Burn-rate
alerts follow the SRE workbook's multiwindow, multi-burn-rate pattern:

========  ===========  ======  ===========================================
severity  long, short  factor  also needs
========  ===========  ======  ===========================================
page      1h, 5m       14.4    at least 20 completions in the last 1h
page      6h, 30m      6       at least 20 completions in the last 6h
ticket    3d, 6h       1       at least 20 completions in the last 3d
========  ===========  ======  ===========================================

The volume guard (``unit:ioc_dossiers_completed:increase<long>``, recorded) keeps a
handful of late dossiers at a quiet unit from paging anyone. The long window must exceed
``factor × budget`` by 4 standard errors of a share at that standard over its completions
(the upper control limit, :func:`services.ops.alertkit.control_limit`), the short one
just ``factor × budget``: the workbook's windows assume many requests, and a commune
completes some 150 dossiers in 3 days, so at a 5 % budget a healthy desk at 96.5 % spends
more than its budget over 3 days about one time in six. With the limit the 3-day ticket
wants more than 12 % late of those 150 (the provincial centre: 0.32 % of its 3,300), and
the pages a late share no healthy desk reaches by accident.
"""

from __future__ import annotations

from typing import Any, Final

from ioc_monitor import catalogue as c
from ioc_monitor.rules import TIMELINESS
from services.ops.alertkit import control_limit, target

__all__ = [
    "BURN_MIN_COMPLETIONS",
    "ERROR_RATIO_RANGES",
    "LATE",
    "ON_TIME_TARGET",
    "burn",
    "completed_increase",
    "error_ratio",
    "slo_groups",
]

#: The timeliness class that spends the on-time error budget.
LATE: Final = "late"
if LATE not in TIMELINESS:  # pragma: no cover - guards the KPI rules module
    raise ImportError(f"timeliness {LATE!r} is not one of {TIMELINESS}")
#: Selector of the units' on-time targets.
ON_TIME_TARGET: Final = target("on_time")
#: Ranges of the recorded on-time error ratios (SRE workbook, multiwindow burn rates).
ERROR_RATIO_RANGES: Final = ("5m", "30m", "1h", "6h", "3d")
#: Ranges of the recorded completion volumes: the long window of each burn-rate pair.
VOLUME_RANGES: Final = ("1h", "6h", "3d")
#: Completions a unit needs in the long window before a burn-rate alert may fire.
BURN_MIN_COMPLETIONS: Final = 20
_LONG_RANGES: Final = frozenset({"6h", "3d"})

Doc = dict[str, Any]


def error_ratio(range_: str) -> str:
    """Name of the recorded late share of completions over a range, e.g. ``5m``.

    Args:
        range_: One of :data:`ERROR_RATIO_RANGES`.

    Returns:
        ``unit:ioc_on_time_error:ratio_rate<range>``.
    """
    if range_ not in ERROR_RATIO_RANGES:
        raise ValueError(f"no recorded error ratio over {range_!r}")
    return f"unit:ioc_on_time_error:ratio_rate{range_}"


def completed_increase(range_: str) -> str:
    """Name of the recorded number of completions of a unit over a range, e.g. ``1h``.

    Args:
        range_: One of :data:`VOLUME_RANGES`.

    Returns:
        ``unit:ioc_dossiers_completed:increase<range>``.
    """
    if range_ not in VOLUME_RANGES:
        raise ValueError(f"no recorded completion volume over {range_!r}")
    return f"unit:{c.COMPLETED_TOTAL.family}:increase{range_}"


def slo_groups() -> list[Doc]:
    """Groups recording the per-unit late share and number of completions over ranges.

    Returns:
        ``ioc-slo-short`` (5m, 30m, 1h; default interval) and ``ioc-slo-long`` (6h, 3d;
        every minute, to bound the cost of the long ranges).
    """
    short: list[Doc] = []
    long: list[Doc] = []
    total = c.COMPLETED_TOTAL.name
    for range_ in ERROR_RATIO_RANGES:
        expr = (
            f'sum by (unit, level) (rate({total}{{timeliness="{LATE}"}}[{range_}]))\n'
            f"/ (sum by (unit, level) (rate({total}[{range_}])) > 0)"
        )
        (long if range_ in _LONG_RANGES else short).append(
            {"record": error_ratio(range_), "expr": expr}
        )
    for range_ in VOLUME_RANGES:
        expr = f"sum by (unit, level) (increase({total}[{range_}]))"
        (long if range_ in _LONG_RANGES else short).append(
            {"record": completed_increase(range_), "expr": expr}
        )
    return [
        {"name": "ioc-slo-short", "rules": short},
        {"name": "ioc-slo-long", "interval": "1m", "rules": long},
    ]


def burn(long: str, short: str, factor: str) -> str:
    """Units whose late share exceeds ``factor`` times their error budget in both ranges.

    Over ``long`` the late share must pass the upper control limit of
    ``factor × budget`` for the range's completions, over ``short`` ``factor × budget``.

    Args:
        long: The long range (one of :data:`VOLUME_RANGES`); the value is its late share.
        short: The short range, confirming the burn still goes on.
        factor: Burn-rate factor as PromQL text, e.g. ``14.4`` (``1``: the budget itself).

    Returns:
        PromQL with labels ``unit``, ``level``; only units with at least
        :data:`BURN_MIN_COMPLETIONS` completions over ``long``.
    """
    budget = f"(1 - {ON_TIME_TARGET})"
    if factor != "1":
        budget = f"({factor} * {budget})"
    match = "on (unit, level) group_left ()"
    limit = control_limit(budget, completed_increase(long), "upper").replace("\n", "\n  ")
    return (
        f"(\n  {error_ratio(long)}\n  > {match}\n  {limit}\n"
        f"  and on (unit, level)\n  {error_ratio(short)} > {match} {budget}\n"
        f"  and on (unit, level)\n  {completed_increase(long)} >= {BURN_MIN_COMPLETIONS}\n)"
    )
