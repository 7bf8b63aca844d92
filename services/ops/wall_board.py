"""The ``ioc-wall`` board: province → level → unit, with the Decision 766 scorecard.

The KPI figures (ratios, open, overdue and due-soon dossiers, scorecard points, the units
with most overdue dossiers) are the panel catalogue's (:mod:`services.panel_catalogue`),
titles and expressions shared with the web wall, selected with :data:`WHERE`: province
and level figures are the recorded roll-ups (:mod:`services.ops.rollups`,
:mod:`services.ops.scorecard`) or the same sums, unit rows and rankings the exporter's
per-unit series with the unit's name joined from ``ioc_unit_info``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ioc_monitor import catalogue as c
from ioc_monitor.registry import LEVELS
from services import panel_catalogue as pc
from services.ops import rollups as ru
from services.ops import scorecard as sc
from services.ops.alertkit import target
from services.ops.panels import (
    PCT,
    PER_HOUR,
    UNITS,
    Board,
    custom_var,
    dashboard,
    named,
    period_var,
    window_var,
)

__all__ = ["WHERE", "wall"]

_WIN: Final = '{window="$window"}'
_PERIOD: Final = 'window="$period"'
_SEL: Final = 'level=~"$level"'
#: What the board selects: its ``window``, ``period`` and ``level`` variables.
WHERE: Final = pc.Where(window='window="$window"', period=_PERIOD, units=_SEL)
_HIDDEN: Final = ("Time", "job", "instance")

Doc = dict[str, Any]


def _units_table(columns: Sequence[tuple[str, bool]]) -> Doc:
    """Merge instant queries A, B, ... into one row per unit, with a link to ``ioc-unit``."""
    rename = {f"Value #{chr(ord('A') + i)}": name for i, (name, _) in enumerate(columns)}
    rename |= {"name": "Tên đơn vị", "unit": "Mã", "level": "Cấp"}
    link = {"title": "Mở đơn vị", "url": "/d/ioc-unit/ioc-unit?var-unit=${__data.fields.unit}"}
    organize = {"excludeByName": dict.fromkeys(_HIDDEN, True), "renameByName": rename}
    percent = [
        {"matcher": {"id": "byName", "options": name}, "properties": [{"id": "unit", "value": PCT}]}
        for name, is_pct in columns
        if is_pct
    ]
    return {
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": organize},
        ],
        "fieldConfig": {"defaults": {"unit": "short", "links": [link]}, "overrides": percent},
    }


def _province(b: Board) -> None:
    b.row("Toàn tỉnh")
    for figure in pc.RATIOS:
        b.figure("stat", figure, "province", WHERE, "($window)")
    for figure in (pc.OVERDUE, pc.IN_PROGRESS, *pc.DUE_SOON):
        b.figure("stat", figure, "province", WHERE)
    received, completed = (ru.rollup("province", s) for s in (c.RECEIVED_TOTAL, c.COMPLETED_TOTAL))
    b.stat("Tiếp nhận /giờ", "Dossiers received per hour.", f"sum({received}){PER_HOUR}")
    b.stat("Giải quyết /giờ", "Dossiers completed per hour.", f"sum({completed}){PER_HOUR}")
    every_window = pc.Where()
    for key in ("on_time", "online"):
        figure = pc.BY_KEY[key]
        b.figure("bargauge", figure, "province", every_window, "theo cửa sổ", "{{window}}", 8)
    flow = [(received + PER_HOUR, "tiếp nhận {{channel}}")]
    flow += [(completed + PER_HOUR, "giải quyết {{timeliness}}")]
    b.ts("Lưu lượng (hồ sơ/giờ)", "Received by channel and completed by timeliness.", flow)


def _scorecard(b: Board) -> None:
    b.row("Bộ chỉ số phục vụ người dân, doanh nghiệp (QĐ 766) — $period")
    province, level = sc.points("province"), sc.points("level")
    en = "Decision 766 points computable from dossier events (46 of 100), of the province's "
    b.stat(
        "Tổng điểm toàn tỉnh",
        en + "summed counts: sum of exposed components.",
        sc.total(province, _PERIOD, ()),
    )
    b.stat(
        "Tỷ lệ điểm toàn tỉnh",
        "Province total / sum of the weights of its exposed components.",
        sc.share(province, _PERIOD, ()),
        PCT,
    )
    card = pc.SCORECARD
    b.figure("bargauge", card, "province", WHERE, "theo thành phần (toàn tỉnh)", "{{component}}", 8)
    shares = [(sc.share(level, _PERIOD, ("level",)), "{{level}}")]
    b.bars("Tỷ lệ điểm theo cấp", "Total / sum of weights of exposed components.", shares, PCT)
    legend = "{{level}} {{component}}"
    b.figure("bargauge", card, "level", WHERE, "theo cấp và thành phần", legend, 12)
    unit_share = sc.share(c.SCORECARD_POINTS.name, f"{_PERIOD},{_SEL}", ("unit", "level"))
    ranked = named(unit_share)
    rank_en = "Units ranked by total / sum of the weights of their exposed components; "
    rank_en += "pick one level to rank units of one level."
    b.add("bargauge", "Xếp hạng cao nhất", rank_en, [(f"topk(10, {ranked})", "{{name}}")], PCT, 6)
    b.add(
        "bargauge", "Xếp hạng thấp nhất", rank_en, [(f"bottomk(10, {ranked})", "{{name}}")], PCT, 6
    )


def _levels(b: Board) -> None:
    b.row("Theo cấp")
    for figure in pc.RATIOS:
        b.figure("timeseries", figure, "level", WHERE, "theo cấp ($window)", "{{level}}", 8)
    for figure in (pc.OVERDUE, pc.IN_PROGRESS, *pc.DUE_SOON):
        b.figure("bargauge", figure, "level", WHERE, "theo cấp", "{{level}}", 6)
    window_done = ru.rollup("level", c.WINDOW_COMPLETED) + _WIN
    queries = [(window_done, "{{level}} {{timeliness}}")]
    b.bars("Đã giải quyết trong $window theo cấp", "Completed by timeliness.", queries)
    counts = [
        (ru.rollup("level", s) + _WIN, f"{{{{level}}}} {label}")
        for s, label in (
            (c.WINDOW_DIGITIZED, "số hóa"),
            (c.WINDOW_COMPLETED_WITH_FEE, "có phí"),
            (c.WINDOW_PAID_ONLINE, "thanh toán trực tuyến"),
            (c.WINDOW_MULTI_VISIT, "đi lại từ 3 lần"),
        )
    ]
    counts += [(ru.rollup("level", c.WINDOW_RATED) + _WIN, "{{level}} {{rating}}")]
    en = "Digitised receipts, completions with fee, paid online, multi-visit, and ratings."
    b.add("bargauge", "Số hồ sơ trong $window theo cấp", en, counts)
    by_level = f"sum by (level) ({ru.rollup('level', c.COMPLETED_TOTAL)}){PER_HOUR}"
    en = "Completions per hour of each level."
    b.add("timeseries", "Giải quyết theo cấp (hồ sơ/giờ)", en, [(by_level, "{{level}}")])


def _units(b: Board) -> None:
    b.row("Đơn vị")
    columns: list[tuple[str, str, bool]] = []
    for figure in (*pc.RATIOS, pc.OVERDUE, pc.IN_PROGRESS, *pc.DUE_SOON):
        columns.append((figure.expr("unit", WHERE), figure.short.vi, UNITS[figure.kind] == PCT))
        if figure.key == "on_time":
            own_target = target("on_time").replace("}", f",{_SEL}}}")
            columns.append((named(own_target), "Mục tiêu đúng hạn", True))
    share = sc.share(c.SCORECARD_POINTS.name, f"{_PERIOD},{_SEL}", ("unit", "level"))
    columns.append((named(share), "Tỷ lệ điểm 766 ($period)", True))
    table = [(f"max by (unit, level, name) ({expr})", name) for expr, name, _ in columns]
    en = "One row per unit: ratios over $window, targets, open dossiers, scorecard share."
    extra = _units_table([(name, pct) for _, name, pct in columns])
    b.add("table", "Các đơn vị ($window)", en, table, w=24, h=12, extra=extra)
    on_time = f'{c.ON_TIME_RATIO.name}{{window="$window",{_SEL}}}'
    gap = f"{on_time} - on (unit, level) {target('on_time')}"
    en = "On-time ratio minus the unit's target (negative: below target)."
    b.bars("Xa mục tiêu đúng hạn nhất ($window)", en, [(named(f"bottomk(10, {gap})"), "{{name}}")])
    b.figure("bargauge", pc.WORST_OVERDUE, "unit", WHERE, legend="{{name}}", w=8)
    rate = f"sum by (unit, level) (rate({c.COMPLETED_TOTAL.name}{{{_SEL}}}[$__rate_interval]))"
    busiest = [(named(f"topk(10, {rate}){PER_HOUR}"), "{{name}}")]
    b.ts("Đơn vị bận nhất (hồ sơ/giờ)", "Completions per hour.", busiest)


def wall() -> Doc:
    """The ``ioc-wall`` dashboard model."""
    b = Board()
    _province(b)
    _scorecard(b)
    _levels(b)
    _units(b)
    variables = [window_var(), period_var(), custom_var("level", "Cấp", LEVELS, None)]
    en = "IOC wall: province, levels and units of the one-stop centres"
    return dashboard("ioc-wall", "IOC – Tổng quan một cửa", en, b, variables)
