"""Building blocks shared by the alert modules: labels, the unit join, annotation templates.

Every alert carries ``severity`` (``page`` or ``ticket``), ``category`` (``kpi`` or
``pipeline``) and ``feed="ioc"``. Annotations are Vietnamese (``summary``,
``description``) with the English text kept in ``summary_en`` and ``description_en``;
unit alerts add ``runbook_url``, the unit's page on the wall.

Unit alerts take the unit's name and supervisor from the exporter's ``ioc_unit_info``
(``* on (unit, level) group_left (name, supervisor) ioc_unit_info``, value 1, so the
alert's value is unchanged) and compare with the unit's target from
``ioc_unit_target_ratio{kpi=...}`` by ``on (unit, level)``: no rule is generated per
unit. A unit without a supervisor has ``supervisor=""``, i.e. no such label (Prometheus
drops empty labels), so Alertmanager routes its alerts to ``ioc-ops``.

Ratio alerts compare a window's share with a *control limit* (:func:`control_limit`), not
with the bare threshold: a Shewhart p-chart with the standard given, whose limits are
``p0 ± 4 * sqrt(p0 * (1 - p0) / n)`` for a standard share ``p0`` and ``n`` dossiers. The
limit closes in on ``p0`` as the volume grows (a commune's 55 completions a day: on time
below 83 % against 95 %; the provincial centre's 1,100: below 99.5 % against 99.9 %).

Why 4 standard errors, not Shewhart's 3: one 3-sigma chart crosses its limit by chance once
in 740 windows, but the IOC watches every unit of the province at once, and a false ticket
anywhere costs a supervisor's time. 4 sigma keeps the province's 55 units together at about
one 3-sigma chart's false alarms (Bonferroni: 0.135 % / 55 is the one-sided 4-sigma tail,
0.003 %). The late counts are skewed, so a unit exactly at ``p0`` crosses in 0.01–0.1 % of
its windows (exact binomial; 0.26 % at the minimum volume of 20), and a healthy unit, which
does better than ``p0``, in about 0.001–0.05 %: a shortfall beyond the limit is a unit that
slips, not a bad day of a small desk. With 3 sigma the simulated province
(``tests/integration/test_demo_alerts.py``) had a healthy unit alerting every few weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from ioc_monitor import catalogue as c

__all__ = [
    "CATEGORY_KPI",
    "CATEGORY_PIPELINE",
    "COUNT",
    "EXPORTER_JOB",
    "FEED",
    "FEED_STALLED",
    "SIGMAS",
    "VI_PERCENT",
    "Text",
    "alert",
    "control_limit",
    "lookup",
    "target",
    "vi_pct",
    "with_unit_info",
]

#: Value of the ``feed`` label on every alert (what the inhibit rule compares).
FEED: Final = "ioc"
CATEGORY_KPI: Final = "kpi"
CATEGORY_PIPELINE: Final = "pipeline"
#: Scrape job of the exporter in the Prometheus configs.
EXPORTER_JOB: Final = "ioc-exporter"
#: Alert that inhibits the KPI alerts while the event feed is stalled.
FEED_STALLED: Final = "IocFeedStalled"
#: Template pipeline printing a 0–1 value as a vi-VN percentage: ``0.928`` → ``92,8 %``
#: (``humanizePercentage``, then a decimal comma and a space before ``%``).
VI_PERCENT: Final = 'humanizePercentage | reReplaceAll "[.]" "," | reReplaceAll "%" " %"'
#: Template pipeline printing a count without exponent: ``1200000``, not ``1.2e+06``.
COUNT: Final = 'printf "%.0f"'
#: Half-width of the control limits of the ratio alerts, in standard errors (see above).
SIGMAS: Final = 4
_MATCH: Final = "on (unit, level) group_left ()"

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Text:
    """A summary and a description, in Vietnamese and in English (Go templates).

    Attributes:
        summary: Vietnamese one-line summary.
        description: Vietnamese description.
        summary_en: English summary.
        description_en: English description.
    """

    summary: str
    description: str
    summary_en: str
    description_en: str


def target(kpi: str) -> str:
    """Selector of the units' targets for a KPI: ``ioc_unit_target_ratio{kpi="<kpi>"}``.

    Args:
        kpi: One of :data:`ioc_monitor.catalogue.TARGET_KPIS`.

    Returns:
        The selector.
    """
    if kpi not in c.TARGET_KPIS:
        raise ValueError(f"no target for kpi {kpi!r}; expected one of {c.TARGET_KPIS}")
    return f'{c.UNIT_TARGET_RATIO.name}{{kpi="{kpi}"}}'


def with_unit_info(expr: str) -> str:
    """Join the unit's ``name`` and ``supervisor`` (from ``ioc_unit_info``) onto ``expr``.

    Args:
        expr: A per-unit expression (labels ``unit``, ``level``).

    Returns:
        ``(expr) * on (unit, level) group_left (name, supervisor) ioc_unit_info``.
    """
    body = expr.replace("\n", "\n  ")
    join = f"* on (unit, level) group_left (name, supervisor) {c.UNIT_INFO.name}"
    return f"(\n  {body}\n)\n{join}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def control_limit(standard: str, n: str, side: Literal["lower", "upper"]) -> str:
    """PromQL of the control limit of a share, per unit (a p-chart's limit).

    ``standard - SIGMAS * sqrt(standard * (1 - standard) / n)`` (``+`` for ``upper``). A
    standard of 1 or more (a burn-rate threshold beyond every dossier) gives NaN, which
    no comparison passes; ``n`` = 0 gives an infinite limit.

    Args:
        standard: The standard share: a number (``0.9``) or a per-unit expression
            (labels ``unit``, ``level``, possibly more), parenthesised if compound.
        n: Per-unit expression of the number of dossiers the share is taken over.
        side: ``lower`` for alerts that fire below the limit, ``upper`` above it.

    Returns:
        A parenthesised expression with labels ``unit``, ``level`` (and any other labels
        of ``standard``).
    """
    sign = "-" if side == "lower" else "+"
    variance = f"{standard} * (1 - {standard})"
    if _is_number(standard):  # scalar op vector: no matching
        root = f"{SIGMAS} * sqrt(\n    {variance}\n    / {n}\n  )"
        return f"(\n  {standard}\n  {sign} {root}\n)"
    root = f"{SIGMAS} * sqrt(\n    {variance}\n    / {_MATCH}\n    {n}\n  )"
    return f"(\n  {standard}\n  {sign} {_MATCH}\n  {root}\n)"


def vi_pct(value: str) -> str:
    """Go template printing a 0–1 value as a vi-VN percentage (:data:`VI_PERCENT`).

    Args:
        value: A template expression, e.g. ``$value``.

    Returns:
        The template action.
    """
    return f"{{{{ {value} | {VI_PERCENT} }}}}"


def lookup(query: str, pipeline: str) -> str:
    """Go template running a query of the alert's unit and printing its first value.

    Args:
        query: PromQL with one ``%q`` where the unit id goes (no backticks).
        pipeline: Template pipeline applied to the value, e.g. ``humanizePercentage``.

    Returns:
        The template; empty output when the query returns nothing.
    """
    if "`" in query or query.count("%q") != 1:
        raise ValueError(f"query must hold exactly one %q and no backtick: {query!r}")
    return (
        f"{{{{ with printf `{query}` $labels.unit | query }}}}"
        f"{{{{ . | first | value | {pipeline} }}}}{{{{ end }}}}"
    )


def alert(
    name: str,
    expr: str,
    for_: str,
    severity: str,
    category: str,
    text: Text,
    runbook_url: str | None = None,
) -> Doc:
    """One alerting rule with the house labels and the bilingual annotations.

    Args:
        name: Alert name.
        expr: PromQL.
        for_: Pending duration.
        severity: ``page`` or ``ticket``.
        category: :data:`CATEGORY_KPI` or :data:`CATEGORY_PIPELINE`.
        text: The annotations' texts.
        runbook_url: ``runbook_url`` annotation, if any.

    Returns:
        The rule, ready for YAML.
    """
    annotations = {
        "summary": text.summary,
        "description": text.description,
        "summary_en": text.summary_en,
        "description_en": text.description_en,
    }
    if runbook_url is not None:
        annotations["runbook_url"] = runbook_url
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "category": category, "feed": FEED},
        "annotations": annotations,
    }
