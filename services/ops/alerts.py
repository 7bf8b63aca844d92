"""KPI alerts per unit, and the alerting groups.

Every ratio alert has a minimum-volume guard, so a quiet unit's handful of dossiers does
not page anyone, and compares with the unit's target from ``ioc_unit_target_ratio`` (no
rule per unit). All are per unit, joined with ``ioc_unit_info`` for the unit's ``name``
and ``supervisor`` (see :mod:`services.ops.alertkit`), with Vietnamese annotations,
English ones in ``summary_en`` / ``description_en``, and ``runbook_url`` the unit's wall
page ``<wall>/units/<unit id>``.

=======================  ===================================  ======================  ====
alert (severity)         fires when                           and at least            for
=======================  ===================================  ======================  ====
IocOnTimeBelowTarget24h  on-time ratio 24h below the lower    20 completions in 24h   30m
                         4-sigma limit of the target
IocOnTimeBelowTarget30d  same over 30d                        30 completions in 30d   1h
IocOnTimeBudgetBurnFast  late share over 1h above the upper   20 completions in 1h,   2m
(page)                   limit of 14.4 × budget and over 5m   or in 6h
                         above 14.4 × budget, or the same
                         with 6h, 30m and 6 ×
IocOnTimeBudgetBurnSlow  late share over 3d above the upper   20 completions in 3d    15m
                         limit of the budget, over 6h above
                         the budget
IocUnitOverdue           overdue share of in progress above   10 overdue dossiers     15m
                         the upper limit of 5 %
IocOnlineBelowTarget30d  online ratio 30d below the lower     30 receipts in 30d      1h
                         limit of the target
IocMultiVisitHigh30d     multi-visit ratio 30d above the      30 completions in 30d   1h
                         upper limit of 2 % at the province
                         level, of 5 % at district and
                         commune level
IocSatisfactionLow30d    satisfaction ratio 30d below the     20 ratings in 30d       1h
                         lower limit of 90 %
=======================  ===================================  ======================  ====

All are tickets except the fast burn (page). The budget is ``1 - on-time target``
(:mod:`services.ops.slo`). A healthy provincial centre always has a few dozen of its
thousands of open dossiers overdue: the overdue alert wants a share of the open
dossiers, not one late file. Multi-visit is held to 2 % at the provincial centre (full
back office, few excuses) and 5 % elsewhere; the seed report names "3 or more trips for
one dossier" as a problem to eliminate.

Why control limits (:func:`services.ops.alertkit.control_limit`, 4 standard errors of a
share at the standard) and not the bare target: a commune completes about 55 dossiers a
day against a 95 % target, so a healthy desk at 96.5 % has 3 or more late ones (below
target) on one day in three or four; the seed report puts satisfaction at about 90 %,
exactly the threshold, and a small desk's 30-day online ratio wanders a few points
around its 90 %. Against the bare thresholds, a simulated fortnight of the bundled
province (``ioc simulate --days 14``, two units slipping) crossed them for 38 of its 53
healthy units on the 24h on-time ratio, 33 on satisfaction, 29 on the 3-day burn rate and
20 on the online ratio. Against the 4-sigma limits a healthy unit stays quiet, while a
unit that slips (about 75 % on time) is beyond them within a day or two: with 45
completions the 24h limit is 82 % on time, with 1,100 at the provincial centre 99.5 %; a
small desk's slip shows in its 3-day and 30-day windows first.
``tests/integration/test_demo_alerts.py`` holds the demo profile to that: over 104
simulated hours only the slipping units alert. The burn-rate alerts put the limit on their
long window only: the short window just says the burn is still going on (SRE workbook),
and its few dossiers would make any limit unreachable. The overdue share gets one too: a
busy healthy desk with 200 open dossiers, 2–3 % of them overdue, has 11 overdue (5.5 %)
some days; its limit is 11 % (22 dossiers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ioc_monitor import catalogue as c
from ioc_monitor.registry import LEVELS
from services.ops import slo
from services.ops.alertkit import (
    CATEGORY_KPI,
    COUNT,
    SIGMAS,
    VI_PERCENT,
    Text,
    alert,
    control_limit,
    lookup,
    target,
    vi_pct,
    with_unit_info,
)
from services.ops.pipeline_alerts import pipeline_alerts

__all__ = [
    "BEYOND_CHANCE_EN",
    "BEYOND_CHANCE_VI",
    "DEFAULT_WALL_URL",
    "MULTI_VISIT_MAX",
    "alert_groups",
    "kpi_alerts",
]

#: Default base URL of the wall; a unit's page is ``<wall>/units/<unit id>``.
DEFAULT_WALL_URL: Final = "http://127.0.0.1:9480"
#: Largest multi-visit ratio over 30d, per level, before IocMultiVisitHigh30d fires.
MULTI_VISIT_MAX: Final[Mapping[str, float]] = {"province": 0.02, "district": 0.05, "commune": 0.05}
if set(MULTI_VISIT_MAX) != set(LEVELS):  # pragma: no cover - guards the registry module
    raise ImportError(f"MULTI_VISIT_MAX must name every level of {LEVELS}")
_SATISFACTION_MIN: Final = 0.9
_OVERDUE_MIN: Final = 10
_OVERDUE_SHARE: Final = 0.05
#: Minimum volumes of the ratio alerts (see the module docstring).
_MIN_COMPLETED_24H: Final = 20
_MIN_COMPLETED_30D: Final = 30
_MIN_RECEIVED_30D: Final = 30
_MIN_RATED_30D: Final = 20
_NAME: Final = "{{ $labels.name }}"
_UNIT: Final = "{{ $labels.unit }}"
_EN_PCT: Final = "{{ $value | humanizePercentage }}"
_WINDOW_VI: Final = {"24h": "24 giờ", "30d": "30 ngày"}
_MATCH: Final = "on (unit, level) group_left ()"
#: What the control limits mean, closing the descriptions of the ratio alerts.
BEYOND_CHANCE_VI: Final = (
    f"mức chênh lệch này vượt giới hạn kiểm soát {SIGMAS} sigma, không phải dao động ngẫu nhiên"
)
BEYOND_CHANCE_EN: Final = (
    f"a gap this large at this volume is beyond chance ({SIGMAS}-sigma control limit)"
)

Doc = dict[str, Any]


def _pct_text(ratio: float) -> tuple[str, str]:
    """A fixed threshold as (vi-VN, English) text: ``0.025`` → ``("2,5 %", "2.5%")``."""
    number = f"{ratio * 100:g}"
    return f"{number.replace('.', ',')} %", f"{number}%"


def _target_text(kpi: str) -> tuple[str, str]:
    """Templates printing the alert's unit's target, (vi-VN, English)."""
    query = f'{c.UNIT_TARGET_RATIO.name}{{unit=%q,kpi="{kpi}"}}'
    return lookup(query, VI_PERCENT), lookup(query, "humanizePercentage")


def _volume(spec: c.MetricSpec, window: str, extra: str = "") -> tuple[str, str]:
    """(PromQL, template) of a unit's window count: the guard and its printed value."""
    expr = f'sum by (unit, level) ({spec.name}{{window="{window}"{extra}}})'
    return expr, lookup(f'sum({spec.name}{{unit=%q,window="{window}"{extra}}})', COUNT)


def _guarded(condition: str, volume: str, minimum: int) -> str:
    """``condition`` for units with at least ``minimum`` in ``volume``, with the unit info."""
    return with_unit_info(f"{condition}\nand on (unit, level)\n{volume} >= {minimum}")


def _on_time(window: str, minimum: int, for_: str, runbook: str) -> Doc:
    ratio = f'{c.ON_TIME_RATIO.name}{{window="{window}"}}'
    volume, n = _volume(c.WINDOW_COMPLETED, window)
    vi_target, en_target = _target_text("on_time")
    w = _WINDOW_VI[window]
    limit = control_limit(target("on_time"), volume, "lower")
    return alert(
        f"IocOnTimeBelowTarget{window}",
        _guarded(f"{ratio}\n< {_MATCH}\n{limit}", volume, minimum),
        for_,
        "ticket",
        CATEGORY_KPI,
        Text(
            f"Tỷ lệ đúng hạn {w} của {_NAME} dưới mục tiêu",
            f"Tỷ lệ đúng hạn {w} của {_NAME} ({_UNIT}) là {vi_pct('$value')}, dưới mục tiêu "
            f"{vi_target}, tính trên {n} hồ sơ đã giải quyết; {BEYOND_CHANCE_VI}.",
            f"On-time ratio of {_NAME} is below its target over {window}",
            f"{_NAME} ({_UNIT}): {_EN_PCT} of the {n} dossiers completed in the last {window} "
            f"were on time; the target is {en_target}, and {BEYOND_CHANCE_EN}.",
        ),
        runbook,
    )


def _burn_alerts(runbook: str) -> list[Doc]:
    vi_target, en_target = _target_text("on_time")
    pct = vi_pct("$value")
    minimum = slo.BURN_MIN_COMPLETIONS
    fast = f"{slo.burn('1h', '5m', '14.4')}\nor\n{slo.burn('6h', '30m', '6')}"
    return [
        alert(
            "IocOnTimeBudgetBurnFast",
            with_unit_info(fast),
            "2m",
            "page",
            CATEGORY_KPI,
            Text(
                f"Hồ sơ trễ hạn tăng nhanh tại {_NAME}",
                f"{_NAME} ({_UNIT}): {pct} số hồ sơ giải quyết gần đây bị trễ hạn, gấp ít nhất "
                "14,4 lần mức trễ hạn cho phép trong cả 1 giờ và 5 phút qua, hoặc 6 lần trong "
                f"cả 6 giờ và 30 phút qua (mức cho phép: 100 % trừ mục tiêu đúng hạn "
                f"{vi_target}; tính khi có từ {minimum} hồ sơ đã giải quyết; trên cửa sổ dài, "
                f"{BEYOND_CHANCE_VI}).",
                f"{_NAME} is burning its on-time error budget fast",
                f"{_NAME} ({_UNIT}): {_EN_PCT} of recent completions were late, at least 14.4 "
                "times the error budget over 1h and 5m, or 6 times over 6h and 30m (on-time "
                f"target {en_target}; at least {minimum} completions; over the long window, "
                f"{BEYOND_CHANCE_EN}).",
            ),
            runbook,
        ),
        alert(
            "IocOnTimeBudgetBurnSlow",
            with_unit_info(slo.burn("3d", "6h", "1")),
            "15m",
            "ticket",
            CATEGORY_KPI,
            Text(
                f"{_NAME} đang vượt mức trễ hạn cho phép",
                f"{_NAME} ({_UNIT}): {pct} số hồ sơ giải quyết trong 3 ngày qua bị trễ hạn, "
                "vượt mức trễ hạn cho phép trong cả 3 ngày và 6 giờ qua (mức cho phép: 100 % "
                f"trừ mục tiêu đúng hạn {vi_target}; tính khi có từ {minimum} hồ sơ đã giải "
                f"quyết; trên 3 ngày, {BEYOND_CHANCE_VI}).",
                f"{_NAME} is using up its on-time error budget",
                f"{_NAME} ({_UNIT}): {_EN_PCT} of the completions of the last 3 days were late, "
                f"more than the error budget over 3d and 6h (on-time target {en_target}; at "
                f"least {minimum} completions; over 3d, {BEYOND_CHANCE_EN}).",
            ),
            runbook,
        ),
    ]


def _overdue(runbook: str) -> Doc:
    overdue, in_progress = c.OVERDUE.name, c.IN_PROGRESS.name
    limit = control_limit(f"{_OVERDUE_SHARE}", in_progress, "upper")
    condition = (
        f"{overdue} >= {_OVERDUE_MIN}\nand on (unit, level)\n"
        f"{overdue} / {in_progress}\n> {_MATCH}\n{limit}"
    )
    open_ = lookup(f"{in_progress}{{unit=%q}}", COUNT)
    share_vi, share_en = _pct_text(_OVERDUE_SHARE)
    value = f"{{{{ $value | {COUNT} }}}}"
    return alert(
        "IocUnitOverdue",
        with_unit_info(condition),
        "15m",
        "ticket",
        CATEGORY_KPI,
        Text(
            f"{_NAME} có nhiều hồ sơ quá hạn",
            f"{_NAME} ({_UNIT}) có {value} hồ sơ đang giải quyết đã quá hạn, trong tổng số "
            f"{open_} hồ sơ đang giải quyết (ngưỡng: từ {_OVERDUE_MIN} hồ sơ và trên "
            f"{share_vi}; {BEYOND_CHANCE_VI}).",
            f"{_NAME} has many overdue dossiers",
            f"{_NAME} ({_UNIT}) has {value} dossiers in progress past their due time, of "
            f"{open_} in progress (threshold: at least {_OVERDUE_MIN} and more than "
            f"{share_en}; {BEYOND_CHANCE_EN}).",
        ),
        runbook,
    )


def _online(runbook: str) -> Doc:
    ratio = f'{c.ONLINE_RATIO.name}{{window="30d"}}'
    volume, n = _volume(c.WINDOW_RECEIVED, "30d")
    vi_target, en_target = _target_text("online")
    limit = control_limit(target("online"), volume, "lower")
    return alert(
        "IocOnlineBelowTarget30d",
        _guarded(f"{ratio}\n< {_MATCH}\n{limit}", volume, _MIN_RECEIVED_30D),
        "1h",
        "ticket",
        CATEGORY_KPI,
        Text(
            f"Tỷ lệ hồ sơ trực tuyến 30 ngày của {_NAME} dưới mục tiêu",
            f"Tỷ lệ hồ sơ tiếp nhận trực tuyến 30 ngày của {_NAME} ({_UNIT}) là "
            f"{vi_pct('$value')}, dưới mục tiêu {vi_target}, tính trên {n} hồ sơ đã tiếp nhận; "
            f"{BEYOND_CHANCE_VI}.",
            f"Online ratio of {_NAME} is below its target over 30d",
            f"{_NAME} ({_UNIT}): {_EN_PCT} of the {n} dossiers received in the last 30d came "
            f"online; the target is {en_target}, and {BEYOND_CHANCE_EN}.",
        ),
        runbook,
    )


def _by_level(thresholds: Mapping[str, float]) -> list[tuple[str, float]]:
    """(level regex, threshold) with levels of equal threshold together, in level order."""
    grouped: dict[float, list[str]] = {}
    for level in LEVELS:
        grouped.setdefault(thresholds[level], []).append(level)
    return [("|".join(levels), value) for value, levels in grouped.items()]


def _level_template(thresholds: Mapping[str, float], english: bool) -> str:
    """Go template printing the threshold of the alert's level."""
    parts = _by_level(thresholds)
    out = ""
    for i, (levels, value) in enumerate(parts):
        text = _pct_text(value)[1 if english else 0]
        if i == len(parts) - 1:
            out += ("{{ else }}" if i else "") + text
            break
        keyword = "if" if i == 0 else "else if"
        test = f'match "^({levels})$" $labels.level'
        out += f"{{{{ {keyword} {test} }}}}{text}"
    return out + ("{{ end }}" if len(parts) > 1 else "")


def _multi_visit(runbook: str) -> Doc:
    ratio = c.MULTI_VISIT_RATIO.name
    volume, n = _volume(c.WINDOW_COMPLETED, "30d")
    condition = "\nor\n".join(
        f'{ratio}{{window="30d",level=~"{levels}"}}\n> {_MATCH}\n'
        + control_limit(f"{value}", volume, "upper")
        for levels, value in _by_level(MULTI_VISIT_MAX)
    )
    indented = condition.replace("\n", "\n  ")
    return alert(
        "IocMultiVisitHigh30d",
        _guarded(f"(\n  {indented}\n)", volume, _MIN_COMPLETED_30D),
        "1h",
        "ticket",
        CATEGORY_KPI,
        Text(
            f"Nhiều hồ sơ tại {_NAME} phải đi lại từ 3 lần trở lên",
            f"Trong 30 ngày qua, {vi_pct('$value')} số hồ sơ đã giải quyết của {_NAME} "
            f"({_UNIT}) có người nộp phải đến trực tiếp từ 3 lần trở lên, vượt ngưỡng "
            f"{_level_template(MULTI_VISIT_MAX, False)}, tính trên {n} hồ sơ đã giải quyết; "
            f"{BEYOND_CHANCE_VI}.",
            f"Many applicants of {_NAME} come in person 3 times or more",
            f"{_NAME} ({_UNIT}): for {_EN_PCT} of the {n} dossiers completed in the last 30d "
            "the applicant came in person 3 times or more; the threshold is "
            f"{_level_template(MULTI_VISIT_MAX, True)}, and {BEYOND_CHANCE_EN}.",
        ),
        runbook,
    )


def _satisfaction(runbook: str) -> Doc:
    ratio = f'{c.SATISFACTION_RATIO.name}{{window="30d"}}'
    volume, n = _volume(c.WINDOW_RATED, "30d")
    minimum_vi, minimum_en = _pct_text(_SATISFACTION_MIN)
    return alert(
        "IocSatisfactionLow30d",
        _guarded(
            f"{ratio}\n< {_MATCH}\n{control_limit(f'{_SATISFACTION_MIN}', volume, 'lower')}",
            volume,
            _MIN_RATED_30D,
        ),
        "1h",
        "ticket",
        CATEGORY_KPI,
        Text(
            f"Mức độ hài lòng 30 ngày của {_NAME} dưới {minimum_vi}",
            f"Tỷ lệ hài lòng 30 ngày của {_NAME} ({_UNIT}) là {vi_pct('$value')}, dưới "
            f"ngưỡng {minimum_vi}, tính trên {n} lượt đánh giá; {BEYOND_CHANCE_VI}.",
            f"Satisfaction of {_NAME} is below {minimum_en} over 30d",
            f"{_NAME} ({_UNIT}): {_EN_PCT} of the {n} ratings of the last 30d were satisfied; "
            f"the threshold is {minimum_en}, and {BEYOND_CHANCE_EN}.",
        ),
        runbook,
    )


def kpi_alerts(wall_url: str = DEFAULT_WALL_URL) -> list[Doc]:
    """The ``ioc-kpi`` alerts (see the module docstring).

    Args:
        wall_url: Base URL of the wall; ``runbook_url`` is ``<wall>/units/<unit id>``.

    Returns:
        The alerting rules.
    """
    runbook = f"{wall_url.rstrip('/')}/units/{_UNIT}"
    return [
        _on_time("24h", _MIN_COMPLETED_24H, "30m", runbook),
        _on_time("30d", _MIN_COMPLETED_30D, "1h", runbook),
        *_burn_alerts(runbook),
        _overdue(runbook),
        _online(runbook),
        _multi_visit(runbook),
        _satisfaction(runbook),
    ]


def alert_groups(wall_url: str = DEFAULT_WALL_URL) -> list[Doc]:
    """The alerting groups: ``ioc-kpi`` (per unit) and ``ioc-pipeline``.

    Args:
        wall_url: Base URL of the wall (the units' ``runbook_url``).

    Returns:
        The groups, ready for YAML.
    """
    return [
        {"name": "ioc-kpi", "rules": kpi_alerts(wall_url)},
        {"name": "ioc-pipeline", "rules": pipeline_alerts()},
    ]
