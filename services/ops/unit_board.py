"""The ``ioc-unit`` board: one unit (variable ``unit``), its KPIs, scorecard and budget.

The ``unit`` variable lists every unit of ``ioc_unit_info`` by name (value: the unit id),
so a unit that has seen no event yet can be opened too. The KPI figures are the panel
catalogue's (:mod:`services.panel_catalogue`, shared with the web wall's unit page),
selected with :data:`WHERE`.
"""

from __future__ import annotations

from typing import Any, Final

from ioc_monitor import catalogue as c
from services import panel_catalogue as pc
from services.ops import scorecard as sc
from services.ops import slo
from services.ops.alertkit import target
from services.ops.panels import (
    DATASOURCE,
    PCT,
    PER_HOUR,
    Board,
    dashboard,
    period_var,
    window_var,
)

__all__ = ["UNIT_VARIABLE_QUERY", "WHERE", "unit"]

#: Query of the ``unit`` variable; its regex shows the name and keeps the id as value.
UNIT_VARIABLE_QUERY: Final = f"query_result({c.UNIT_INFO.name})"
_UNIT_REGEX: Final = '/name="(?<text>[^"]*)".*unit="(?<value>[^"]*)"/'
_U: Final = 'unit="$unit"'
#: What the board selects: its ``unit``, ``window`` and ``period`` variables.
WHERE: Final = pc.Where(window='window="$window"', period='window="$period"', units=_U)
_EVERY_WINDOW: Final = pc.Where(units=_U)

Doc = dict[str, Any]


def _sel(spec: c.MetricSpec, *matchers: str) -> str:
    return f"{spec.name}{{{','.join((_U, *matchers))}}}"


def _own_target(kpi: str) -> str:
    return target(kpi).replace("{", "{" + _U + ",")


def _summary(b: Board) -> None:
    b.row("Đơn vị $unit")
    name = "The unit's name and supervisor, from the unit registry (ioc_unit_info)."
    b.label("Tên đơn vị", name, _sel(c.UNIT_INFO), "{{name}}", w=12)
    b.label("Người giám sát", name, _sel(c.UNIT_INFO), "{{supervisor}}", w=12)
    for figure in pc.RATIOS:
        b.figure("stat", figure, "unit", WHERE, "($window)")
        if figure.key in c.TARGET_KPIS:
            text = f"The unit's {figure.title.en.lower()} target (ioc_unit_target_ratio)."
            vi = figure.title.vi
            b.stat(f"Mục tiêu {vi[0].lower()}{vi[1:]}", text, _own_target(figure.key), PCT)
    for figure in (pc.OVERDUE, pc.IN_PROGRESS, *pc.DUE_SOON):
        b.figure("stat", figure, "unit", WHERE)
    ratios = [(f.expr("unit", _EVERY_WINDOW), f"{f.short.vi} {{{{window}}}}") for f in pc.RATIOS]
    b.add("bargauge", "Các tỷ lệ theo cửa sổ", "Every ratio in every window.", ratios, PCT, 12, 10)
    on_time = pc.BY_KEY["on_time"]
    legend = f"{on_time.short.vi.lower()} {{{{window}}}}"
    vs = [(on_time.expr("unit", pc.Where(window='window=~"24h|30d"', units=_U)), legend)]
    vs += [(_own_target("on_time"), "mục tiêu")]
    title = f"{on_time.title.vi} so với mục tiêu"
    b.add("timeseries", title, "On-time ratio vs target.", vs, PCT, 12, 10)


def _scorecard(b: Board) -> None:
    b.row("Bộ chỉ số QĐ 766 — $period")
    matchers = f'{_U},window="$period"'
    points = c.SCORECARD_POINTS.name
    en = "Decision 766 points computable from dossier events (46 of 100): "
    b.stat("Tổng điểm", en + "the sum of the exposed components.", sc.total(points, matchers, ()))
    share = sc.share(points, matchers, ())
    b.stat("Tỷ lệ điểm", "Total / sum of the weights of the exposed components.", share, PCT)
    b.figure("bargauge", pc.SCORECARD, "unit", WHERE, "theo thành phần", "{{component}}", 16)
    every = [(sc.share(points, _U, ("window",)), "{{window}}")]
    en = "Total / sum of the weights of the exposed components, per period."
    b.add("timeseries", "Tỷ lệ điểm theo kỳ", en, every, PCT, 24, 8)


def _flow(b: Board) -> None:
    b.row("Luồng hồ sơ")
    for spec, by, vi in (
        (c.RECEIVED_TOTAL, "channel", "Tiếp nhận /giờ theo kênh"),
        (c.COMPLETED_TOTAL, "timeliness", "Giải quyết /giờ theo tiến độ"),
    ):
        expr = f"sum by ({by}) (rate({spec.name}{{{_U}}}[$__rate_interval])){PER_HOUR}"
        b.ts(vi, f"{spec.help} Per hour.", [(expr, "{{" + by + "}}")])
    refused = f"sum(rate({c.REFUSED_TOTAL.name}{{{_U}}}[$__rate_interval])){PER_HOUR}"
    b.ts("Từ chối /giờ", c.REFUSED_TOTAL.help, [(refused, "từ chối")])
    extra = [
        (f"sum(rate({spec.name}{{{_U}}}[$__rate_interval])){PER_HOUR}", legend)
        for spec, legend in (
            (c.DIGITIZED_TOTAL, "số hóa"),
            (c.COMPLETED_WITH_FEE_TOTAL, "có phí"),
            (c.PAID_ONLINE_TOTAL, "thanh toán trực tuyến"),
            (c.MULTI_VISIT_TOTAL, "đi lại từ 3 lần"),
        )
    ]
    en = "Digitised receipts, completions with fee, paid online and with 3+ trips, per hour."
    b.ts("Số hóa, phí, thanh toán, đi lại (/giờ)", en, extra)
    rated = f"sum by (rating) (rate({c.RATED_TOTAL.name}{{{_U}}}[$__rate_interval])){PER_HOUR}"
    b.ts("Đánh giá /giờ", c.RATED_TOTAL.help, [(rated, "{{rating}}")])
    open_ = (pc.OVERDUE, pc.IN_PROGRESS, *pc.DUE_SOON)
    stock = [(f.expr("unit", WHERE), f.short.vi) for f in open_]
    b.ts("Quá hạn, đang giải quyết, sắp đến hạn", "Open dossiers of the unit.", stock)
    window_counts = (
        c.WINDOW_COMPLETED,
        c.WINDOW_RECEIVED,
        c.WINDOW_DIGITIZED,
        c.WINDOW_COMPLETED_WITH_FEE,
        c.WINDOW_PAID_ONLINE,
        c.WINDOW_MULTI_VISIT,
        c.WINDOW_RATED,
    )
    counts = [(_sel(s), s.name) for s in window_counts]
    b.add("table", "Số hồ sơ theo cửa sổ", "Every window count of the unit.", counts, w=24)


def _budget(b: Board) -> None:
    b.row("Ngân sách lỗi đúng hạn")
    burn = [(f"{slo.error_ratio(r)}{{{_U}}}", f"tỷ lệ trễ {r}") for r in slo.ERROR_RATIO_RANGES]
    factors = (("14.4 * ", "14,4x"), ("6 * ", "6x"), ("", "1x"))
    burn += [(f"{k}(1 - {_own_target('on_time')})", f"ngưỡng {name}") for k, name in factors]
    en = (
        "Late share of completions over 5m..3d vs the burn-rate factors of the alerts (which "
        "also want the long window 4 standard errors beyond its factor)."
    )
    b.add("timeseries", "Tỷ lệ trễ hạn so với ngưỡng tiêu hao", en, burn, PCT, 24, 9)


def unit() -> Doc:
    """The ``ioc-unit`` dashboard model."""
    b = Board()
    _summary(b)
    _scorecard(b)
    _flow(b)
    _budget(b)
    unit_var: Doc = {"type": "query", "name": "unit", "label": "Đơn vị", "datasource": DATASOURCE}
    query = {"query": UNIT_VARIABLE_QUERY, "refId": "unit"}
    unit_var |= {"definition": UNIT_VARIABLE_QUERY, "query": query, "regex": _UNIT_REGEX}
    unit_var |= {"refresh": 2, "sort": 1, "multi": False, "includeAll": False}
    en = "IOC unit: one unit's KPIs, Decision 766 scorecard and on-time error budget"
    return dashboard("ioc-unit", "IOC – Đơn vị", en, b, [unit_var, window_var(), period_var()])
