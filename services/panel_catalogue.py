"""The one catalogue of KPI panels, shared by the Grafana boards and the web wall.

One :class:`Figure` per figure shown on both (the six ratios, dossiers in progress,
overdue and due soon, the Decision 766 scorecard, the units with most overdue
dossiers): its key, its Vietnamese and English titles (long, and short for legends and
table columns), an English description, the kind of value and its PromQL per scope
(``province``, ``level``, ``unit``). The boards (:mod:`services.ops.wall_board`,
:mod:`services.ops.unit_board`) and the wall (:mod:`services.wall.queries`, the titles
of its pages through ``/api/config``) take both the expression and the titles from
here, so the two cannot drift apart; a test checks that they do.

A consumer says what it selects with one :class:`Where` (label matchers: the KPI
window, the scorecard window, the units), e.g. the boards ``window="$window"`` and the
wall ``window=~"24h|30d|month"``; each figure puts the matchers it has a label for into
its selectors. Expressions, built from :mod:`ioc_monitor.catalogue` and the recorded
names of :mod:`services.ops.rollups` and :mod:`services.ops.scorecard`:

- ``province``/``level``: the recording rule, ``or`` the same sum over the per-unit
  series (a Prometheus whose rule files lag behind the catalogue still shows the
  figure, computed as the rules do: never an average of ratios); the scorecard is the
  recorded scope scorecard only;
- ``unit``: the per-unit series taken ``max by`` their own labels (exporter replicas
  scraped as several targets count once) with the unit's ``name`` joined from
  ``ioc_unit_info`` (:data:`NAME_JOIN`, the ``_info`` idiom).

Nothing here knows Grafana or the wall: no panel layout, no variable, no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from ioc_monitor import catalogue as c
from services.ops import rollups as ru
from services.ops import scorecard as sc

__all__ = [
    "BY_KEY",
    "DUE_SOON",
    "FIGURES",
    "IN_PROGRESS",
    "NAME_JOIN",
    "OVERDUE",
    "RATIOS",
    "SCOPES",
    "SCORECARD",
    "WORST_OVERDUE",
    "Figure",
    "Scope",
    "Title",
    "Where",
    "named",
]

Scope = Literal["province", "level", "unit"]
Kind = Literal["ratio", "count", "points"]
#: Every scope, from the widest.
SCOPES: Final[tuple[Scope, ...]] = ("province", "level", "unit")
#: How many units the "most overdue" ranking shows.
WORST_TOP: Final = 5
_UNIT_LABELS: Final = ("unit", "level")
#: The unit's name, joined onto a per-unit expression (labels ``unit``, ``level``).
NAME_JOIN: Final = (
    f"* on (unit, level) group_left (name) max by (unit, level, name) ({c.UNIT_INFO.name})"
)


def named(expr: str) -> str:
    """Add the unit's ``name`` label from ``ioc_unit_info`` to a per-unit expression.

    Args:
        expr: PromQL with labels ``unit`` and ``level``.

    Returns:
        ``(expr)`` and :data:`NAME_JOIN` on the next line (the value is unchanged).
    """
    return f"({expr})\n{NAME_JOIN}"


@dataclass(frozen=True, slots=True)
class Title:
    """A text in both languages.

    Attributes:
        vi: Vietnamese (the wall's and the boards' first language).
        en: English.
    """

    vi: str
    en: str


@dataclass(frozen=True, slots=True)
class Where:
    """What a consumer selects: label matchers, each put where a figure has the label.

    Attributes:
        window: Matchers of the KPI window (ratios), e.g. ``window="$window"``.
        period: Matchers of the scorecard window, e.g. ``window="$period"``.
        units: Matchers of the per-unit series (``unit`` scope), e.g. ``unit="qn-x"``
            or ``level=~"$level"``.
    """

    window: str = ""
    period: str = ""
    units: str = ""


Build = Callable[[Scope, Where], str]


@dataclass(frozen=True, slots=True)
class Figure:
    """One KPI figure shown on the boards and on the wall.

    Attributes:
        key: Stable id: the wall's query and JSON key, the ``kpi.<key>`` text of its pages.
        title: Panel and tile title.
        short: Short name, for legends, chart series and table columns.
        about: English description (what the value is).
        kind: ``ratio`` (0–1), ``count`` (dossiers) or ``points`` (scorecard points).
        scopes: Scopes it exists in.
        build: Its PromQL for a scope and a :class:`Where` (use :meth:`expr`).
    """

    key: str
    title: Title
    short: Title
    about: str
    kind: Kind
    scopes: tuple[Scope, ...]
    build: Build = field(repr=False, compare=False)

    def expr(self, scope: Scope, where: Where | None = None) -> str:
        """The figure's PromQL in a scope.

        Args:
            scope: ``province``, ``level`` (by ``level``) or ``unit`` (by ``unit``, with
                its ``name``).
            where: What to select; default everything.

        Returns:
            PromQL.

        Raises:
            ValueError: The figure does not exist in ``scope``.
        """
        if scope not in self.scopes:
            raise ValueError(f"figure {self.key!r} has no {scope} scope")
        return self.build(scope, where or Where())


def _select(metric: str, *matchers: str) -> str:
    inside = ",".join(m for m in matchers if m)
    return f"{metric}{{{inside}}}" if inside else metric


def _sum(scope: Scope, *extra: str) -> str:
    labels = (("level",) if scope == "level" else ()) + extra
    return f"sum by ({', '.join(labels)})" if labels else "sum"


def _max(labels: tuple[str, ...]) -> str:
    return f"max by ({', '.join(labels)})"


def _ratio(rollup: ru.RatioRollup) -> Build:
    def build(scope: Scope, where: Where) -> str:
        if scope == "unit":
            selector = _select(rollup.ratio.name, where.units, where.window)
            return named(f"{_max((*_UNIT_LABELS, 'window'))} ({selector})")
        agg = _sum(scope, "window")
        num = f"{agg} ({rollup.numerator.select(where.window)})"
        den = f"{agg} ({rollup.denominator.select(where.window)})"
        rule = _select(ru.ratio_rollup(scope, rollup.ratio), where.window)
        return f"{rule} or (({num} or 0 * {den}) / ({den} > 0))"

    return build


def _count(spec: c.MetricSpec, matcher: str = "") -> Build:
    extra = tuple(label for label in spec.labels if label not in _UNIT_LABELS)

    def build(scope: Scope, where: Where) -> str:
        if scope == "unit":
            selector = _select(spec.name, where.units, matcher)
            return named(f"{_max((*_UNIT_LABELS, *extra))} ({selector})")
        rule = _select(ru.rollup(scope, spec), matcher)
        return f"{rule} or {_sum(scope, *extra)} ({_select(spec.name, matcher)})"

    return build


def _points(scope: Scope, where: Where) -> str:
    if scope == "unit":
        selector = _select(c.SCORECARD_POINTS.name, where.units, where.period)
        return named(f"{_max((*_UNIT_LABELS, 'window', 'component'))} ({selector})")
    return _select(sc.points(scope), where.period)


def _figure(
    key: str, title: Title, short: Title | None, about: str, kind: Kind, build: Build
) -> Figure:
    return Figure(key, title, short or title, about, kind, SCOPES, build)


def _ratio_key(spec: c.MetricSpec) -> str:
    return spec.name.removeprefix("ioc_").removesuffix("_ratio")


_RATIO_TEXTS: Final = {
    c.ON_TIME_RATIO: (
        Title("Tỷ lệ đúng hạn", "On-time ratio"),
        Title("Đúng hạn", "On time"),
        "(early + on time) / completed dossiers in the window.",
    ),
    c.ONLINE_RATIO: (
        Title("Tỷ lệ nộp trực tuyến", "Online ratio"),
        Title("Trực tuyến", "Online"),
        "(online_full + online_partial) / received dossiers in the window.",
    ),
    c.DIGITIZED_RATIO: (
        Title("Tỷ lệ số hóa hồ sơ", "Digitised ratio"),
        Title("Số hóa", "Digitised"),
        "Digitised / received dossiers in the window.",
    ),
    c.ONLINE_PAYMENT_RATIO: (
        Title("Tỷ lệ thanh toán trực tuyến", "Paid-online ratio"),
        Title("Thanh toán trực tuyến", "Paid online"),
        "Paid online / completions with a fee in the window.",
    ),
    c.MULTI_VISIT_RATIO: (
        Title("Tỷ lệ đi lại từ 3 lần", "3+ visits ratio"),
        Title("Đi lại từ 3 lần", "3+ visits"),
        "Completions whose applicant came in person 3 or more times / completed.",
    ),
    c.SATISFACTION_RATIO: (
        Title("Tỷ lệ hài lòng", "Satisfaction ratio"),
        Title("Hài lòng", "Satisfied"),
        "Satisfied / rated dossiers in the window.",
    ),
}
if set(_RATIO_TEXTS) != {r.ratio for r in ru.RATIO_ROLLUPS}:  # pragma: no cover
    raise ImportError("a ratio of the catalogue has no panel titles")

#: The six ratios, in the catalogue's order.
RATIOS: Final = tuple(
    _figure(_ratio_key(r.ratio), *_RATIO_TEXTS[r.ratio], "ratio", _ratio(r))
    for r in ru.RATIO_ROLLUPS
)
IN_PROGRESS: Final = _figure(
    "in_progress",
    Title("Đang giải quyết", "In progress"),
    None,
    "Dossiers received and not yet completed.",
    "count",
    _count(c.IN_PROGRESS),
)
OVERDUE: Final = _figure(
    "overdue",
    Title("Quá hạn", "Overdue"),
    None,
    "Dossiers in progress past their due time.",
    "count",
    _count(c.OVERDUE),
)
#: Dossiers due soon, one figure per ``within`` of the catalogue (24 h, 72 h).
DUE_SOON: Final = tuple(
    _figure(
        f"due_soon_{within}",
        Title(f"Đến hạn trong {seconds // 3600} giờ", f"Due within {seconds // 3600} h"),
        None,
        f"Dossiers in progress due within the next {seconds // 3600} hours.",
        "count",
        _count(c.DUE_SOON, f'within="{within}"'),
    )
    for within, seconds in c.DUE_SOON_WITHIN
)
SCORECARD: Final = _figure(
    "scorecard",
    Title("Điểm Bộ chỉ số 766", "Decision 766 score"),
    Title("Điểm 766", "766 score"),
    "Decision 766 points per component, computable from dossier events (46 of 100).",
    "points",
    _points,
)
WORST_OVERDUE: Final = Figure(
    "worst_overdue",
    Title("Đơn vị có nhiều hồ sơ quá hạn nhất", "Units with the most overdue dossiers"),
    Title("Quá hạn", "Overdue"),
    f"The {WORST_TOP} units with the most overdue dossiers.",
    "count",
    ("unit",),
    lambda scope, where: f"topk({WORST_TOP}, {OVERDUE.expr(scope, where)} > 0)",
)

#: Every figure, in display order.
FIGURES: Final = (*RATIOS, IN_PROGRESS, OVERDUE, *DUE_SOON, SCORECARD, WORST_OVERDUE)
#: Figures by key.
BY_KEY: Final[Mapping[str, Figure]] = {f.key: f for f in FIGURES}
if len(BY_KEY) != len(FIGURES):  # pragma: no cover
    raise ImportError("two figures share a key")
