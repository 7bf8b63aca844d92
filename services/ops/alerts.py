"""Alerting half of the rule generator: per-unit targets, SLO error ratios, alerts, routing.

Everything is returned as plain data (dicts and lists ready for YAML); rendering and
writing the files is :mod:`services.ops.rules`'s job. Metric names come from
:mod:`ioc_monitor.catalogue`, label values from the event contract and the KPI rules, and
targets and supervisors from the unit registry, so nothing here can drift from them.

Every alert carries ``severity`` (``page`` or ``ticket``), ``category`` (``kpi`` or
``pipeline``) and ``feed="ioc"``; unit alerts also carry ``unit``, ``level`` and, when
the registry names one, ``supervisor``. The Alertmanager inhibit rule relies on ``feed``
being present on both sides (a label missing on both sides would count as equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ioc_monitor import catalogue as c
from ioc_monitor.registry import Unit, UnitRegistry
from ioc_monitor.rules import TIMELINESS

__all__ = [
    "CATEGORY_KPI",
    "CATEGORY_PIPELINE",
    "DEFAULT_WEBHOOK_BASE",
    "ERROR_RATIO_RANGES",
    "EXPORTER_JOB",
    "FEED",
    "FEED_STALLED",
    "LATE",
    "OPS_RECEIVER",
    "UNIT_INFO",
    "UNIT_ONLINE_TARGET",
    "UNIT_ON_TIME_TARGET",
    "alert_groups",
    "alertmanager_config",
    "error_ratio",
    "slo_groups",
    "supervisor_receiver",
    "target_groups",
]

#: Value of the ``feed`` label on every alert (what the inhibit rule compares).
FEED: Final = "ioc"
CATEGORY_KPI: Final = "kpi"
CATEGORY_PIPELINE: Final = "pipeline"
#: Scrape job of the exporter in the Prometheus configs.
EXPORTER_JOB: Final = "ioc-exporter"
#: Alert that inhibits the KPI alerts while the event feed is stalled.
FEED_STALLED: Final = "IocFeedStalled"
#: Receiver of pipeline alerts and of everything no supervisor route takes.
OPS_RECEIVER: Final = "ioc-ops"
#: Default base URL of the webhooks: ``<base>/<supervisor>`` and ``<base>/ioc-ops``.
DEFAULT_WEBHOOK_BASE: Final = "http://127.0.0.1:19999/alerts"

#: Recorded per-unit series (value 1, or the target), labels unit, level[, supervisor].
UNIT_INFO: Final = "ioc:unit_info"
UNIT_ON_TIME_TARGET: Final = "ioc:unit_on_time_target"
UNIT_ONLINE_TARGET: Final = "ioc:unit_online_target"

#: The timeliness class that spends the on-time error budget.
LATE: Final = "late"
if LATE not in TIMELINESS:  # pragma: no cover - guards the KPI rules module
    raise ImportError(f"timeliness {LATE!r} is not one of {TIMELINESS}")
#: Ranges of the recorded on-time error ratios (SRE workbook, multiwindow burn rates).
ERROR_RATIO_RANGES: Final = ("5m", "30m", "1h", "6h", "3d")
_LONG_RANGES: Final = frozenset({"6h", "3d"})
_LOCAL_OFFSET_S: Final = 7 * 3600  # Asia/Ho_Chi_Minh, UTC+7 without DST
_OFFICE_START_MIN: Final = 7 * 60 + 30
_OFFICE_END_MIN: Final = 17 * 60

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


def supervisor_receiver(supervisor: str) -> str:
    """Alertmanager receiver name of a supervisor key: ``supervisor-<key>``."""
    return f"supervisor-{supervisor}"


def _unit_labels(unit: Unit) -> dict[str, str]:
    labels = {"unit": unit.id, "level": unit.level}
    if unit.supervisor is not None:
        labels["supervisor"] = unit.supervisor
    return labels


def target_groups(registry: UnitRegistry) -> list[Doc]:
    """The ``ioc-targets`` group: info, on-time and online target of every unit.

    Args:
        registry: The units (file order is kept).

    Returns:
        One group with three constant rules per unit.
    """
    rules: list[Doc] = []
    for name, value_of in (
        (UNIT_INFO, lambda u: 1),
        (UNIT_ON_TIME_TARGET, lambda u: u.on_time_target),
        (UNIT_ONLINE_TARGET, lambda u: u.online_target),
    ):
        for unit in registry:
            value = value_of(unit)
            rules.append(
                {"record": name, "expr": f"vector({value!r})", "labels": _unit_labels(unit)}
            )
    return [{"name": "ioc-targets", "interval": "1m", "rules": rules}]


def slo_groups() -> list[Doc]:
    """Groups recording the per-unit late share of completions over each range.

    The ratio is taken from counter rates (never from averaged ratios) and is absent when
    the unit completed nothing in the range.

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
    return [
        {"name": "ioc-slo-short", "rules": short},
        {"name": "ioc-slo-long", "interval": "1m", "rules": long},
    ]


def _target_text(target: str) -> str:
    """Go template printing a unit's recorded target as a percentage."""
    return (
        f'{{{{ with printf "{target}{{unit=%q}}" $labels.unit | query }}}}'
        "{{ . | first | value | humanizePercentage }}{{ end }}"
    )


def _burn(long: str, short: str, factor: str) -> str:
    budget = f"(1 - {UNIT_ON_TIME_TARGET})"
    if factor != "1":
        budget = f"({factor} * {budget})"
    return (
        f"(\n  {error_ratio(long)} > on (unit) group_left (supervisor) {budget}\n"
        f"  and on (unit)\n  {error_ratio(short)} > on (unit) {budget}\n)"
    )


def _alert(
    name: str,
    expr: str,
    for_: str,
    severity: str,
    category: str,
    summary: str,
    description: str,
) -> Doc:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "category": category, "feed": FEED},
        "annotations": {"summary": summary, "description": description},
    }


def _kpi_alerts() -> list[Doc]:
    unit = "{{ $labels.unit }} ({{ $labels.level }})"
    join = "< on (unit) group_left (supervisor)"
    on_time = c.ON_TIME_RATIO.name
    alerts = [
        _alert(
            f"IocOnTimeBelowTarget{window}",
            f'{on_time}{{window="{window}"}} {join} {UNIT_ON_TIME_TARGET}',
            for_,
            "ticket",
            CATEGORY_KPI,
            f"On-time ratio of {{{{ $labels.unit }}}} is below its target over {window}",
            f"{unit}: {{{{ $value | humanizePercentage }}}} of the dossiers completed in the "
            f"last {window} were on time; the target is {_target_text(UNIT_ON_TIME_TARGET)}.",
        )
        for window, for_ in (("24h", "30m"), ("30d", "1h"))
    ]
    alerts += [
        _alert(
            "IocOnTimeBudgetBurnFast",
            f"{_burn('1h', '5m', '14.4')}\nor\n{_burn('6h', '30m', '6')}",
            "2m",
            "page",
            CATEGORY_KPI,
            "{{ $labels.unit }} is burning its on-time error budget fast",
            f"{unit}: {{{{ $value | humanizePercentage }}}} of recent completions were late, "
            "at least 14.4 times the error budget over 1h and 5m, or 6 times over 6h and 30m "
            f"(on-time target {_target_text(UNIT_ON_TIME_TARGET)}).",
        ),
        _alert(
            "IocOnTimeBudgetBurnSlow",
            _burn("3d", "6h", "1"),
            "15m",
            "ticket",
            CATEGORY_KPI,
            "{{ $labels.unit }} is using up its on-time error budget",
            f"{unit}: {{{{ $value | humanizePercentage }}}} of the completions of the last 3 "
            "days were late, more than the error budget over 3d and 6h "
            f"(on-time target {_target_text(UNIT_ON_TIME_TARGET)}).",
        ),
        _alert(
            "IocUnitOverdue",
            f"({c.OVERDUE.name} > 0) * on (unit) group_left (supervisor) {UNIT_INFO}",
            "15m",
            "ticket",
            CATEGORY_KPI,
            "{{ $labels.unit }} has overdue dossiers",
            f"{unit} has {{{{ $value }}}} dossier(s) in progress past their due time.",
        ),
        _alert(
            "IocOnlineBelowTarget30d",
            f'{c.ONLINE_RATIO.name}{{window="30d"}} {join} {UNIT_ONLINE_TARGET}',
            "1h",
            "ticket",
            CATEGORY_KPI,
            "Online ratio of {{ $labels.unit }} is below its target over 30d",
            f"{unit}: {{{{ $value | humanizePercentage }}}} of the dossiers received in the "
            f"last 30d came online; the target is {_target_text(UNIT_ONLINE_TARGET)}.",
        ),
    ]
    return alerts


def _office_hours() -> str:
    """PromQL that has one sample while local time (UTC+7) is Mon-Fri 07:30-17:00."""
    local = f"vector(time() + {_LOCAL_OFFSET_S})"
    minutes = f"hour({local}) * 60 + minute({local})"
    return (
        f"(day_of_week({local}) >= 1 <= 5)\n"
        f"and on ()\n({minutes} >= {_OFFICE_START_MIN} < {_OFFICE_END_MIN})"
    )


def _pipeline_alerts() -> list[Doc]:
    processed = c.EVENTS_PROCESSED.name
    rejected = c.EVENTS_REJECTED.name
    up = f'up{{job="{EXPORTER_JOB}"}}'
    office = _office_hours().replace("\n", "\n  ")
    return [
        _alert(
            FEED_STALLED,
            f"sum(increase({processed}[15m])) == 0\nand on ()\n(\n  {office}\n)",
            "1m",
            "page",
            CATEGORY_PIPELINE,
            "The ioc event feed is stalled",
            "No event was processed in the last 15 minutes during office hours (Mon-Fri "
            f"07:30-17:00, UTC+7); KPI alerts of feed {FEED} are inhibited while this fires.",
        ),
        _alert(
            "IocConsumerLagHigh",
            f"max({c.CONSUMER_LAG.name}) > 10000",
            "10m",
            "ticket",
            CATEGORY_PIPELINE,
            "The ioc worker lags behind the event topic",
            "The largest partition lag of the worker is {{ $value | humanize }} messages "
            "(more than 10000 for 10 minutes).",
        ),
        _alert(
            "IocConsumerPartitionStalled",
            f"max by (partition) ({c.PARTITION_STALLED.name}) > 0",
            "5m",
            "page",
            CATEGORY_PIPELINE,
            "An ioc partition is stalled at a batch the worker cannot decode",
            "The worker has kept partition {{ $labels.partition }} paused for 5 minutes at a "
            "record batch it cannot decode (its log names topic, partition, offset and error); "
            "nothing is skipped, but the KPIs of that partition's dossiers stand still. Fix "
            "the cause (e.g. install the codec): the worker retries every minute.",
        ),
        _alert(
            "IocEventsRejectedHigh",
            f"sum(rate({rejected}[10m]))\n/ (sum(rate({processed}[10m])) "
            f"+ sum(rate({rejected}[10m])))\n> 0.05",
            "5m",
            "ticket",
            CATEGORY_PIPELINE,
            "Many ioc events are rejected",
            "{{ $value | humanizePercentage }} of the consumed events were rejected over the "
            "last 10 minutes (more than 5%); see the dead-letter topic.",
        ),
        _alert(
            "IocExporterRedisDown",
            f"{c.EXPORTER_REDIS_UP.name} == 0",
            "2m",
            "page",
            CATEGORY_PIPELINE,
            "The ioc exporter cannot read Redis",
            "The exporter at {{ $labels.instance }} cannot read Redis: KPI series are missing.",
        ),
        _alert(
            "IocExporterDown",
            f"{up} == 0\nor\nabsent({up})",
            "2m",
            "page",
            CATEGORY_PIPELINE,
            "The ioc exporter is down",
            "Prometheus cannot scrape the ioc exporter{{ with $labels.instance }} at {{ . }}"
            "{{ end }} (job " + EXPORTER_JOB + "), or has no such target.",
        ),
    ]


def alert_groups() -> list[Doc]:
    """The alerting groups: ``ioc-kpi`` (per unit) and ``ioc-pipeline``."""
    return [
        {"name": "ioc-kpi", "rules": _kpi_alerts()},
        {"name": "ioc-pipeline", "rules": _pipeline_alerts()},
    ]


def _webhook(name: str, url: str) -> Doc:
    return {"name": name, "webhook_configs": [{"url": url, "send_resolved": True}]}


def alertmanager_config(registry: UnitRegistry, webhook_base: str) -> Doc:
    """The Alertmanager configuration: routes per supervisor, ops receiver, inhibition.

    Args:
        registry: The units (supervisor keys, in file order of first appearance).
        webhook_base: Base URL; receiver ``supervisor-<key>`` posts to ``<base>/<key>``,
            ``ioc-ops`` to ``<base>/ioc-ops``.

    Returns:
        The configuration document.
    """
    base = webhook_base.rstrip("/")
    supervisors: Sequence[str] = list(registry.supervisors())
    routes: list[Doc] = [
        {"receiver": OPS_RECEIVER, "matchers": [f'category="{CATEGORY_PIPELINE}"']}
    ]
    routes += [
        {"receiver": supervisor_receiver(s), "matchers": [f'supervisor="{s}"']} for s in supervisors
    ]
    receivers = [_webhook(OPS_RECEIVER, f"{base}/{OPS_RECEIVER}")]
    receivers += [_webhook(supervisor_receiver(s), f"{base}/{s}") for s in supervisors]
    return {
        "route": {
            "receiver": OPS_RECEIVER,
            "group_by": ["alertname", "unit"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "receivers": receivers,
        "inhibit_rules": [
            {
                # feed=~".+" on both sides: an alert without the label never matches.
                "source_matchers": [f'alertname="{FEED_STALLED}"', 'feed=~".+"'],
                "target_matchers": [f'category="{CATEGORY_KPI}"', 'feed=~".+"'],
                "equal": ["feed"],
            }
        ],
    }
