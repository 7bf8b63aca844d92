"""The Decision 766 scorecard of each level and of the province, as recording rules.

Groups ``ioc-scorecard-level`` and ``ioc-scorecard-province`` (evaluated every minute)
record ``level:ioc_scorecard_points:window{level, window, component}`` and
``province:ioc_scorecard_points:window{window, component}`` for the windows ``month``,
``quarter`` and ``year``. They apply the unit formulas of KPIS.md (Scorecard) to counts
summed over the units of the scope, never to averages or sums of the units' points.

Summed over the units of the scope, in the window: R received, of them O online
(online_full + online_partial) and D digitised; C completed, of them G early or on
time, L late, F with fee, P paid online; U unsatisfied ratings. Summed over the same
units now (not windowed): I in progress, V overdue.

============  ======  ==========================================  ============
component     weight  points                                      exposed when
============  ======  ==========================================  ============
timeliness    20      20 × (G + I − V) / (C + I)                  C + I > 0
online        12      12 × min(1, (O / R) / 0.5)                  R > 0
payment       6       6 × P / F                                   F > 0
digitisation  2       2 × min(1, (D / R) / 0.8)                   R > 0
satisfaction  6       6 × min(1, max(0, 1 − (L + U) / C) / 0.9)   C > 0
============  ======  ==========================================  ============

A component whose denominator is 0 has no series (never NaN); a count with no series
(zero-valued window gauges may be absent) counts as 0. One rule per window and
component sets the ``window`` and ``component`` labels; e.g. the levels' online points
in the month window, with ``R = sum by (level) (ioc_window_dossiers_received{window=
"month"})`` and ``O`` the same sum with ``channel=~"online_full|online_partial"``::

    12 * clamp_max((O or 0 * R) / (R > 0) / 0.5, 1)

and timeliness, with the zero base ``Z = 0 * (C or I)`` (every level that has
completions in the window or dossiers in progress)::

(in the rules the sums are over the scope's recorded ``<scope>:<metric>:sum`` series of
the roll-up groups, which add the units up once)

    20 * ((G or Z) + (I or Z) - (V or Z)) / ((C or Z) + (I or Z) > 0)

Boards rank by total / (sum of the weights of the exposed components): :func:`share`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ioc_monitor import catalogue as c
from ioc_monitor.kpis import FULL_AT  # the caps of the units' own scorecard
from services.ops.rollups import (
    GOOD_TIMELINESS,
    ONLINE_CHANNELS,
    SCOPES,
    Count,
    rollup,
    sum_by,
)

__all__ = ["FULL_AT", "WEIGHTS", "points", "scorecard_groups", "share", "total"]

#: Weight (maximum points) of each component (KPIS.md; the catalogue's order).
WEIGHTS: Final[Mapping[str, int]] = dict(c.SCORECARD_COMPONENTS)
if set(WEIGHTS) != {"timeliness", "online", "payment", "digitisation", "satisfaction"}:
    raise ImportError(f"scorecard components changed: {sorted(WEIGHTS)}")  # pragma: no cover

#: The counts of the formulas (see the module docstring); I and V are not windowed.
_COUNTS: Final = {
    "R": Count(c.WINDOW_RECEIVED),
    "O": Count(c.WINDOW_RECEIVED, ONLINE_CHANNELS),
    "D": Count(c.WINDOW_DIGITIZED),
    "C": Count(c.WINDOW_COMPLETED),
    "G": Count(c.WINDOW_COMPLETED, GOOD_TIMELINESS),
    "L": Count(c.WINDOW_COMPLETED, 'timeliness="late"'),
    "F": Count(c.WINDOW_COMPLETED_WITH_FEE),
    "P": Count(c.WINDOW_PAID_ONLINE),
    "U": Count(c.WINDOW_RATED, 'rating="unsatisfied"'),
}
_STOCKS: Final = {"I": c.IN_PROGRESS, "V": c.OVERDUE}

Doc = dict[str, Any]


def points(scope: str) -> str:
    """Name of the recorded scorecard of a scope: ``<scope>:ioc_scorecard_points:window``."""
    if scope not in dict(SCOPES):
        raise ValueError(f"unknown roll-up scope {scope!r}")
    return f"{scope}:{c.SCORECARD_POINTS.name}:window"


def _capped(name: str, ratio: str) -> str:
    weight = WEIGHTS[name]
    if name in FULL_AT:
        return f"{weight} * clamp_max(\n  {ratio}\n  / {FULL_AT[name]},\n  1\n)"
    return f"{weight} * {ratio}"


def _components(scope: str, by: Sequence[str], window: str) -> dict[str, str]:
    """PromQL of each component's points over the units of ``by`` in ``window``.

    The counts are the scope's recorded sums (:func:`services.ops.rollups.rollup`), so
    the units' series are added up once, by the roll-up groups.
    """
    w = f'window="{window}"'
    n = {key: sum_by(by, count.select(w, scope=scope)) for key, count in _COUNTS.items()}
    n |= {key: sum_by(by, rollup(scope, spec)) for key, spec in _STOCKS.items()}

    def ratio(num: str, den: str) -> str:
        return f"({n[num]} or 0 * {n[den]})\n  / ({n[den]} > 0)"

    zero = f"0 * ({n['C']} or {n['I']})"

    def z(key: str) -> str:
        return f"({n[key]} or {zero})"

    unhappy = f"({n['L']} or 0 * {n['C']}) + ({n['U']} or 0 * {n['C']})"
    satisfied = f"clamp_min(\n    1 - ({unhappy}) / ({n['C']} > 0),\n    0\n  )"
    return {
        "timeliness": (
            f"{WEIGHTS['timeliness']} * (\n  {z('G')}\n  + {z('I')}\n  - {z('V')}\n)\n"
            f"/ (\n  {z('C')}\n  + {z('I')}\n  > 0\n)"
        ),
        "online": _capped("online", ratio("O", "R")),
        "payment": f"{WEIGHTS['payment']} * ({n['P']} or 0 * {n['F']})\n/ ({n['F']} > 0)",
        "digitisation": _capped("digitisation", ratio("D", "R")),
        "satisfaction": _capped("satisfaction", satisfied),
    }


def scorecard_groups() -> list[Doc]:
    """The groups ``ioc-scorecard-level`` and ``ioc-scorecard-province``.

    Returns:
        One rule per window of :data:`ioc_monitor.catalogue.SCORECARD_WINDOWS` and
        component, each setting the ``window`` and ``component`` labels.
    """
    groups: list[Doc] = []
    for scope, keep in SCOPES:
        rules = [
            {"record": points(scope), "expr": expr, "labels": {"window": w, "component": k}}
            for w in c.SCORECARD_WINDOWS
            for k, expr in _components(scope, keep, w).items()
        ]
        groups.append({"name": f"ioc-scorecard-{scope}", "interval": "1m", "rules": rules})
    return groups


def _select(metric: str, *matchers: str) -> str:
    inside = ",".join(m for m in matchers if m)
    return f"{metric}{{{inside}}}" if inside else metric


def _component(name: str) -> str:
    return f'component="{name}"'


def total(metric: str, matchers: str, by: Sequence[str]) -> str:
    """Total points: the sum of the exposed components.

    Args:
        metric: ``ioc_scorecard_points`` or a recorded :func:`points` name.
        matchers: Label matchers, e.g. ``window="month"`` (may be empty).
        by: Labels of the result, e.g. ``("unit", "level")``.

    Returns:
        PromQL.
    """
    return sum_by(by, _select(metric, matchers))


def share(metric: str, matchers: str, by: Sequence[str]) -> str:
    """Total points / the sum of the weights of the exposed components (0–1).

    Args:
        metric: ``ioc_scorecard_points`` or a recorded :func:`points` name.
        matchers: Label matchers, e.g. ``window="month"`` (may be empty).
        by: Labels of the result, e.g. ``("unit", "level")``.

    Returns:
        PromQL; absent where no component is exposed.
    """
    weights = " or ".join(
        f"0 * {_select(metric, matchers, _component(name))} + {weight}"
        for name, weight in WEIGHTS.items()
    )
    return f"{total(metric, matchers, by)}\n/ {sum_by(by, weights)}"
