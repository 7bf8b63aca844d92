"""The ``ioc-wall`` board: province → level → unit, with the Decision 766 scorecard.

Province and level figures are the recorded roll-ups (:mod:`services.ops.rollups`,
:mod:`services.ops.scorecard`); unit rows and rankings use the exporter's per-unit
series with the unit's name joined from ``ioc_unit_info``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ioc_monitor import catalogue as c
from ioc_monitor.registry import LEVELS
from services.ops import rollups as ru
from services.ops import scorecard as sc
from services.ops.alertkit import target
from services.ops.panels import (
    PCT,
    PER_HOUR,
    Board,
    custom_var,
    dashboard,
    named,
    period_var,
    window_var,
)

__all__ = ["RATIO_TITLES", "wall"]

#: Vietnamese title and English name of each ratio, in catalogue order.
RATIO_TITLES: Final = {
    c.ON_TIME_RATIO: ("Tỷ lệ đúng hạn", "on-time ratio"),
    c.ONLINE_RATIO: ("Tỷ lệ trực tuyến", "online ratio"),
    c.DIGITIZED_RATIO: ("Tỷ lệ số hóa", "digitised ratio"),
    c.ONLINE_PAYMENT_RATIO: ("Tỷ lệ thanh toán trực tuyến", "online-payment ratio"),
    c.MULTI_VISIT_RATIO: ("Tỷ lệ đi lại từ 3 lần", "multi-visit ratio (3+ trips)"),
    c.SATISFACTION_RATIO: ("Tỷ lệ hài lòng", "satisfaction ratio"),
}
_WIN: Final = '{window="$window"}'
_PERIOD: Final = 'window="$period"'
_SEL: Final = 'level=~"$level"'
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
    for spec, (vi, en) in RATIO_TITLES.items():
        expr = ru.ratio_rollup("province", spec) + _WIN
        b.stat(f"{vi} ($window)", f"Province {en} over $window, from summed counts.", expr, PCT)
    stocks = (
        (c.OVERDUE, "Quá hạn", "Dossiers in progress past their due time."),
        (c.IN_PROGRESS, "Đang giải quyết", "Dossiers received and not yet completed."),
    )
    for spec, vi, en in stocks:
        b.stat(vi, en, ru.rollup("province", spec))
    due = ru.rollup("province", c.DUE_SOON)
    for within, _ in c.DUE_SOON_WITHIN:
        en = f"Dossiers in progress due within the next {within}."
        b.stat(f"Sắp đến hạn {within}", en, f'{due}{{within="{within}"}}')
    received, completed = (ru.rollup("province", s) for s in (c.RECEIVED_TOTAL, c.COMPLETED_TOTAL))
    b.stat("Tiếp nhận /giờ", "Dossiers received per hour.", f"sum({received}){PER_HOUR}")
    b.stat("Giải quyết /giờ", "Dossiers completed per hour.", f"sum({completed}){PER_HOUR}")
    for spec in (c.ON_TIME_RATIO, c.ONLINE_RATIO):
        vi, en = RATIO_TITLES[spec]
        name = ru.ratio_rollup("province", spec)
        b.bars(f"{vi} theo cửa sổ", f"Province {en} in every window.", [(name, "{{window}}")], PCT)
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
    components = [(f"{province}{{{_PERIOD}}}", "{{component}}")]
    b.bars("Điểm theo thành phần (toàn tỉnh)", "Province points per component.", components, w=8)
    shares = [(sc.share(level, _PERIOD, ("level",)), "{{level}}")]
    b.bars("Tỷ lệ điểm theo cấp", "Total / sum of weights of exposed components.", shares, PCT)
    by_level = [(f"{level}{{{_PERIOD}}}", "{{level}} {{component}}")]
    b.add("bargauge", "Điểm theo cấp và thành phần", "Points per level.", by_level, w=12)
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
    for spec, (vi, en) in RATIO_TITLES.items():
        queries = [(ru.ratio_rollup("level", spec) + _WIN, "{{level}}")]
        b.ts(f"{vi} theo cấp ($window)", f"The {en} of each level over $window.", queries, PCT)
    stocks = (
        (c.OVERDUE, "Quá hạn theo cấp", "{{level}}", "Overdue dossiers per level."),
        (c.IN_PROGRESS, "Đang giải quyết theo cấp", "{{level}}", "Dossiers in progress."),
        (c.DUE_SOON, "Sắp đến hạn theo cấp", "{{level}} {{within}}", "Due within 24h / 72h."),
    )
    for spec, vi, legend, en in stocks:
        b.bars(vi, en, [(ru.rollup("level", spec), legend)], w=6)
    window_done = ru.rollup("level", c.WINDOW_COMPLETED) + _WIN
    queries = [(window_done, "{{level}} {{timeliness}}")]
    b.bars("Đã giải quyết trong $window theo cấp", "Completed by timeliness.", queries, w=6)
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
    b.add("bargauge", "Số hồ sơ trong $window theo cấp", en, counts, w=12)
    by_level = f"sum by (level) ({ru.rollup('level', c.COMPLETED_TOTAL)}){PER_HOUR}"
    en = "Completions per hour of each level."
    b.add("timeseries", "Giải quyết theo cấp (hồ sơ/giờ)", en, [(by_level, "{{level}}")], w=12)


def _units(b: Board) -> None:
    b.row("Đơn vị")
    ratio = 'window="$window",' + _SEL
    columns: list[tuple[str, str, bool]] = [
        (f"{c.ON_TIME_RATIO.name}{{{ratio}}}", "Đúng hạn", True),
        (target("on_time").replace("}", f",{_SEL}}}"), "Mục tiêu đúng hạn", True),
        (f"{c.ONLINE_RATIO.name}{{{ratio}}}", "Trực tuyến", True),
        (f"{c.DIGITIZED_RATIO.name}{{{ratio}}}", "Số hóa", True),
        (f"{c.ONLINE_PAYMENT_RATIO.name}{{{ratio}}}", "Thanh toán trực tuyến", True),
        (f"{c.MULTI_VISIT_RATIO.name}{{{ratio}}}", "Đi lại từ 3 lần", True),
        (f"{c.SATISFACTION_RATIO.name}{{{ratio}}}", "Hài lòng", True),
        (f"{c.OVERDUE.name}{{{_SEL}}}", "Quá hạn", False),
        (f"{c.IN_PROGRESS.name}{{{_SEL}}}", "Đang giải quyết", False),
        (f'{c.DUE_SOON.name}{{within="24h",{_SEL}}}', "Sắp đến hạn 24h", False),
        (
            sc.share(c.SCORECARD_POINTS.name, f"{_PERIOD},{_SEL}", ("unit", "level")),
            "Tỷ lệ điểm 766 ($period)",
            True,
        ),
    ]
    table = [(f"max by (unit, level, name) ({named(expr)})", name) for expr, name, _ in columns]
    en = "One row per unit: ratios over $window, targets, open dossiers, scorecard share."
    extra = _units_table([(name, pct) for _, name, pct in columns])
    b.add("table", "Các đơn vị ($window)", en, table, w=24, h=12, extra=extra)
    gap = f"{columns[0][0]} - on (unit, level) {target('on_time')}"
    en = "On-time ratio minus the unit's target (negative: below target)."
    b.bars("Xa mục tiêu đúng hạn nhất ($window)", en, [(named(f"bottomk(10, {gap})"), "{{name}}")])
    most = named(f"topk(10, {c.OVERDUE.name}{{{_SEL}}} > 0)")
    b.bars(
        "Nhiều hồ sơ quá hạn nhất", "Units with the most overdue dossiers.", [(most, "{{name}}")]
    )
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
