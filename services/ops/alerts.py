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
IocOnTimeBelowTarget24h  on-time ratio 24h < target           20 completions in 24h   30m
IocOnTimeBelowTarget30d  on-time ratio 30d < target           30 completions in 30d   1h
IocOnTimeBudgetBurnFast  late share > 14.4 × budget over 1h   20 completions in 1h,   2m
(page)                   and 5m, or > 6 × budget over 6h      or in 6h
                         and 30m
IocOnTimeBudgetBurnSlow  late share > budget over 3d and 6h   20 completions in 3d    15m
IocUnitOverdue           overdue > 5 % of in progress         10 overdue dossiers     15m
IocOnlineBelowTarget30d  online ratio 30d < target            30 receipts in 30d      1h
IocMultiVisitHigh30d     multi-visit ratio 30d > 2 % at the   30 completions in 30d   1h
                         province level, > 5 % at district
                         and commune level
IocSatisfactionLow30d    satisfaction ratio 30d < 90 %        20 ratings in 30d       1h
=======================  ===================================  ======================  ====

All are tickets except the fast burn (page). The budget is ``1 - on-time target``
(:mod:`services.ops.slo`). A healthy provincial centre always has a few dozen of its
thousands of open dossiers overdue: the overdue alert wants a share of the open
dossiers, not one late file. Multi-visit is held to 2 % at the provincial centre (full
back office, few excuses) and 5 % elsewhere; the seed report names "3 or more trips for
one dossier" as a problem to eliminate.
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
    VI_PERCENT,
    Text,
    alert,
    lookup,
    target,
    vi_pct,
    with_unit_info,
)
from services.ops.pipeline_alerts import pipeline_alerts

__all__ = [
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
    return alert(
        f"IocOnTimeBelowTarget{window}",
        _guarded(f"{ratio} < on (unit, level) group_left () {target('on_time')}", volume, minimum),
        for_,
        "ticket",
        CATEGORY_KPI,
        Text(
            f"Tỷ lệ đúng hạn {w} của {_NAME} dưới mục tiêu",
            f"Tỷ lệ đúng hạn {w} của {_NAME} ({_UNIT}) là {vi_pct('$value')}, dưới mục tiêu "
            f"{vi_target}, tính trên {n} hồ sơ đã giải quyết.",
            f"On-time ratio of {_NAME} is below its target over {window}",
            f"{_NAME} ({_UNIT}): {_EN_PCT} of the {n} dossiers completed in the last {window} "
            f"were on time; the target is {en_target}.",
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
                f"{vi_target}; tính khi có từ {minimum} hồ sơ đã giải quyết).",
                f"{_NAME} is burning its on-time error budget fast",
                f"{_NAME} ({_UNIT}): {_EN_PCT} of recent completions were late, at least 14.4 "
                "times the error budget over 1h and 5m, or 6 times over 6h and 30m (on-time "
                f"target {en_target}; at least {minimum} completions).",
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
                "quyết).",
                f"{_NAME} is using up its on-time error budget",
                f"{_NAME} ({_UNIT}): {_EN_PCT} of the completions of the last 3 days were late, "
                f"more than the error budget over 3d and 6h (on-time target {en_target}; at "
                f"least {minimum} completions).",
            ),
            runbook,
        ),
    ]


def _overdue(runbook: str) -> Doc:
    overdue, in_progress = c.OVERDUE.name, c.IN_PROGRESS.name
    condition = (
        f"{overdue} >= {_OVERDUE_MIN}\nand on (unit, level)\n"
        f"{overdue} > on (unit, level) group_left () ({_OVERDUE_SHARE} * {in_progress})"
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
            f"{share_vi}).",
            f"{_NAME} has many overdue dossiers",
            f"{_NAME} ({_UNIT}) has {value} dossiers in progress past their due time, of "
            f"{open_} in progress (threshold: at least {_OVERDUE_MIN} and more than "
            f"{share_en}).",
        ),
        runbook,
    )


def _online(runbook: str) -> Doc:
    ratio = f'{c.ONLINE_RATIO.name}{{window="30d"}}'
    volume, n = _volume(c.WINDOW_RECEIVED, "30d")
    vi_target, en_target = _target_text("online")
    return alert(
        "IocOnlineBelowTarget30d",
        _guarded(
            f"{ratio} < on (unit, level) group_left () {target('online')}",
            volume,
            _MIN_RECEIVED_30D,
        ),
        "1h",
        "ticket",
        CATEGORY_KPI,
        Text(
            f"Tỷ lệ hồ sơ trực tuyến 30 ngày của {_NAME} dưới mục tiêu",
            f"Tỷ lệ hồ sơ tiếp nhận trực tuyến 30 ngày của {_NAME} ({_UNIT}) là "
            f"{vi_pct('$value')}, dưới mục tiêu {vi_target}, tính trên {n} hồ sơ đã tiếp nhận.",
            f"Online ratio of {_NAME} is below its target over 30d",
            f"{_NAME} ({_UNIT}): {_EN_PCT} of the {n} dossiers received in the last 30d came "
            f"online; the target is {en_target}.",
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
    condition = "\nor\n".join(
        f'{ratio}{{window="30d",level=~"{levels}"}} > {value}'
        for levels, value in _by_level(MULTI_VISIT_MAX)
    )
    volume, n = _volume(c.WINDOW_COMPLETED, "30d")
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
            f"{_level_template(MULTI_VISIT_MAX, False)}, tính trên {n} hồ sơ đã giải quyết.",
            f"Many applicants of {_NAME} come in person 3 times or more",
            f"{_NAME} ({_UNIT}): for {_EN_PCT} of the {n} dossiers completed in the last 30d "
            "the applicant came in person 3 times or more; the threshold is "
            f"{_level_template(MULTI_VISIT_MAX, True)}.",
        ),
        runbook,
    )


def _satisfaction(runbook: str) -> Doc:
    ratio = f'{c.SATISFACTION_RATIO.name}{{window="30d"}}'
    volume, n = _volume(c.WINDOW_RATED, "30d")
    minimum_vi, minimum_en = _pct_text(_SATISFACTION_MIN)
    return alert(
        "IocSatisfactionLow30d",
        _guarded(f"{ratio} < {_SATISFACTION_MIN}", volume, _MIN_RATED_30D),
        "1h",
        "ticket",
        CATEGORY_KPI,
        Text(
            f"Mức độ hài lòng 30 ngày của {_NAME} dưới {minimum_vi}",
            f"Tỷ lệ hài lòng 30 ngày của {_NAME} ({_UNIT}) là {vi_pct('$value')}, dưới "
            f"ngưỡng {minimum_vi}, tính trên {n} lượt đánh giá.",
            f"Satisfaction of {_NAME} is below {minimum_en} over 30d",
            f"{_NAME} ({_UNIT}): {_EN_PCT} of the {n} ratings of the last 30d were satisfied; "
            f"the threshold is {minimum_en}.",
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
