"""Level and province roll-ups of the per-unit series, as recording rules.

Groups ``ioc-rollup-level`` (labels ``level``, plus the metric's own) and
``ioc-rollup-province`` (the metric's own labels only):

- ``<scope>:<ratio>:window{window}`` for every ratio of METRICS.md (on-time, online,
  digitised, online payment, multi-visit, satisfaction): the sum of the window
  numerators over the sum of the window denominators, never an average of ratios::

      level:ioc_digitized_ratio:window =
        (
          sum by (level, window) (ioc_window_dossiers_digitized)
          or 0 * sum by (level, window) (ioc_window_dossiers_received)
        )
        / (sum by (level, window) (ioc_window_dossiers_received) > 0)

  ============================  ===============================  ==========================
  ratio                         numerator (window counts)        denominator
  ============================  ===============================  ==========================
  ``ioc_on_time_ratio``         completed, early + on_time       completed
  ``ioc_online_ratio``          received, online_full + partial  received
  ``ioc_digitized_ratio``       digitized                        received
  ``ioc_online_payment_ratio``  paid_online                      completed_with_fee
  ``ioc_multi_visit_ratio``     multi_visit                      completed
  ``ioc_satisfaction_ratio``    rated, satisfied                 rated
  ============================  ===============================  ==========================

  Window gauges that are 0 may be absent, so a numerator with no series falls back to
  ``0 * denominator`` (a real 0 stays 0), and the denominator must be ``> 0``: a scope
  with nothing in the denominator has no series (never NaN), as for the units. The sums
  are taken over the scope's recorded ``:sum`` series (below), which add the units up
  once per evaluation (see :func:`rollup_groups`).
- ``<scope>:<gauge>:sum`` for every per-unit count gauge (window counts, in progress,
  overdue, due soon), keeping its own labels (``window``, ``channel``, ...);
- ``<scope>:<counter>:rate5m`` (without ``_total``) for every per-unit counter.

The scorecard of the summed counts (``<scope>:ioc_scorecard_points:window``) is recorded
by :mod:`services.ops.scorecard`.

Roll-ups assume each unit's series is scraped once (one exporter target, or replicas
behind one address).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ioc_monitor import catalogue as c
from ioc_monitor.events import CHANNELS
from ioc_monitor.rules import TIMELINESS

__all__ = [
    "GOOD_TIMELINESS",
    "ONLINE_CHANNELS",
    "RATIO_ROLLUPS",
    "SCOPES",
    "Count",
    "RatioRollup",
    "ratio_rollup",
    "rolled_up",
    "rollup",
    "rollup_groups",
    "sum_by",
]

#: Roll-up scopes: record-name prefix and the labels kept (besides the metric's own).
SCOPES: Final = (("level", ("level",)), ("province", ()))
#: Label matchers of the on-time classes (early, on_time) and of the online channels.
GOOD_TIMELINESS: Final = 'timeliness=~"' + "|".join(t for t in TIMELINESS if t != "late") + '"'
ONLINE_CHANNELS: Final = 'channel=~"' + "|".join(x for x in CHANNELS if "online" in x) + '"'
_SATISFIED: Final = 'rating="satisfied"'
if "late" not in TIMELINESS or "satisfied" not in c.RATINGS:  # pragma: no cover
    raise ImportError("the KPI rules changed their label values")
_RATE_RANGE: Final = "5m"

Doc = dict[str, Any]


def sum_by(by: Sequence[str], selector: str) -> str:
    """``sum by (<by>) (<selector>)``, or ``sum(<selector>)`` when ``by`` is empty."""
    return f"sum by ({', '.join(by)}) ({selector})" if by else f"sum({selector})"


@dataclass(frozen=True, slots=True)
class Count:
    """Per-unit counts to add up: a metric of the catalogue and an optional matcher.

    Attributes:
        spec: The metric.
        matcher: A label matcher such as ``rating="satisfied"``, or empty for all series.
    """

    spec: c.MetricSpec
    matcher: str = ""

    def select(self, *more: str, scope: str | None = None) -> str:
        """The selector, with further matchers (e.g. ``window="month"``) if given.

        Args:
            more: Further label matchers.
            scope: Select the recorded ``<scope>:<metric>:sum`` of the count instead of
                the per-unit series (``None``, the default).
        """
        name = self.spec.name if scope is None else rollup(scope, self.spec)
        matchers = ",".join(m for m in (*more, self.matcher) if m)
        return f"{name}{{{matchers}}}" if matchers else name


@dataclass(frozen=True, slots=True)
class RatioRollup:
    """How a per-unit ratio is rolled up from window counts.

    Attributes:
        ratio: The per-unit ratio of the catalogue.
        numerator: The numerator's window counts.
        denominator: The denominator's window counts.
    """

    ratio: c.MetricSpec
    numerator: Count
    denominator: Count


#: Every ratio of METRICS.md with its numerator and denominator (KPIS.md, Ratios).
RATIO_ROLLUPS: Final = (
    RatioRollup(
        c.ON_TIME_RATIO, Count(c.WINDOW_COMPLETED, GOOD_TIMELINESS), Count(c.WINDOW_COMPLETED)
    ),
    RatioRollup(
        c.ONLINE_RATIO, Count(c.WINDOW_RECEIVED, ONLINE_CHANNELS), Count(c.WINDOW_RECEIVED)
    ),
    RatioRollup(c.DIGITIZED_RATIO, Count(c.WINDOW_DIGITIZED), Count(c.WINDOW_RECEIVED)),
    RatioRollup(
        c.ONLINE_PAYMENT_RATIO, Count(c.WINDOW_PAID_ONLINE), Count(c.WINDOW_COMPLETED_WITH_FEE)
    ),
    RatioRollup(c.MULTI_VISIT_RATIO, Count(c.WINDOW_MULTI_VISIT), Count(c.WINDOW_COMPLETED)),
    RatioRollup(c.SATISFACTION_RATIO, Count(c.WINDOW_RATED, _SATISFIED), Count(c.WINDOW_RATED)),
)

#: Per-unit gauges that are not counts (never summed).
_NOT_COUNTS: Final = frozenset(
    {r.ratio.name for r in RATIO_ROLLUPS}
    | {c.SCORECARD_POINTS.name, c.UNIT_INFO.name, c.UNIT_TARGET_RATIO.name}
)


def rolled_up() -> tuple[c.MetricSpec, ...]:
    """Per-unit metrics of the catalogue with a ``:sum`` or ``:rate5m`` roll-up."""
    return tuple(
        spec
        for spec in c.CATALOGUE
        if spec.labels[:2] == ("unit", "level") and spec.name not in _NOT_COUNTS
    )


def rollup(scope: str, spec: c.MetricSpec) -> str:
    """Name of the recorded roll-up of a per-unit count.

    Args:
        scope: ``level`` or ``province``.
        spec: A per-unit counter or count gauge of the catalogue.

    Returns:
        ``<scope>:<metric>:rate5m`` for counters (without ``_total``), else
        ``<scope>:<metric>:sum``.
    """
    if spec.kind == "counter":
        return f"{scope}:{spec.family}:rate{_RATE_RANGE}"
    return f"{scope}:{spec.name}:sum"


def ratio_rollup(scope: str, ratio: c.MetricSpec) -> str:
    """Name of the recorded roll-up of a ratio: ``<scope>:<ratio>:window``.

    Args:
        scope: ``level`` or ``province``.
        ratio: One of the ratios of :data:`RATIO_ROLLUPS`.

    Returns:
        The record name.
    """
    if ratio not in {r.ratio for r in RATIO_ROLLUPS}:
        raise ValueError(f"{ratio.name} is not a rolled-up ratio")
    return f"{scope}:{ratio.name}:window"


def _extra(spec: c.MetricSpec) -> tuple[str, ...]:
    return tuple(label for label in spec.labels if label not in ("unit", "level"))


def _ratio(by: Sequence[str], rollup_: RatioRollup, scope: str) -> str:
    num = sum_by(by, rollup_.numerator.select(scope=scope))
    den = sum_by(by, rollup_.denominator.select(scope=scope))
    return f"(\n  {num}\n  or 0 * {den}\n)\n/ ({den} > 0)"


def rollup_groups() -> list[Doc]:
    """The roll-up groups: ``ioc-rollup-level`` and ``ioc-rollup-province``.

    Each per-unit series is added up once: the level group sums the units' series by
    level first, then computes its ratios from those few recorded sums (rules of a group
    run in order, each seeing the ones before in the same evaluation); the province
    group adds up the level sums (three series where there were thousands) and computes
    its ratios from its own sums. The same numbers as summing the units directly, at a
    fraction of the cost (one pass over 3,321 units' series per evaluation instead of
    one per ratio term); a province figure lags the level figures by at most one
    evaluation interval.
    """
    groups: list[Doc] = []
    for scope, keep in SCOPES:
        rules: list[Doc] = []
        for spec in rolled_up():
            if scope == "level":
                selector = spec.name
                if spec.kind == "counter":
                    selector = f"rate({spec.name}[{_RATE_RANGE}])"
            else:
                selector = rollup("level", spec)  # the level sums, already recorded
            rules.append(
                {"record": rollup(scope, spec), "expr": sum_by((*keep, *_extra(spec)), selector)}
            )
        rules += [
            {"record": ratio_rollup(scope, r.ratio), "expr": _ratio((*keep, "window"), r, scope)}
            for r in RATIO_ROLLUPS
        ]
        groups.append({"name": f"ioc-rollup-{scope}", "rules": rules})
    return groups
