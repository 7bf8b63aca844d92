"""Pipeline alerts: the event feed, the worker's consumer and the exporter.

``IocFeedStalled`` (no event processed for 15 minutes during office hours, Mon–Fri
07:30–17:00 in UTC+7) inhibits the KPI alerts of its feed in Alertmanager.
"""

from __future__ import annotations

from typing import Any, Final

from ioc_monitor import catalogue as c
from services.ops.alertkit import (
    CATEGORY_PIPELINE,
    EXPORTER_JOB,
    FEED,
    FEED_STALLED,
    Text,
    alert,
    vi_pct,
)

__all__ = ["office_hours", "pipeline_alerts"]

_LOCAL_OFFSET_S: Final = 7 * 3600  # Asia/Ho_Chi_Minh, UTC+7 without DST
_OFFICE_START_MIN: Final = 7 * 60 + 30
_OFFICE_END_MIN: Final = 17 * 60

Doc = dict[str, Any]


def office_hours() -> str:
    """PromQL that has one sample while local time (UTC+7) is Mon-Fri 07:30-17:00."""
    local = f"vector(time() + {_LOCAL_OFFSET_S})"
    minutes = f"hour({local}) * 60 + minute({local})"
    return (
        f"(day_of_week({local}) >= 1 <= 5)\n"
        f"and on ()\n({minutes} >= {_OFFICE_START_MIN} < {_OFFICE_END_MIN})"
    )


def pipeline_alerts() -> list[Doc]:
    """The ``ioc-pipeline`` alerts (routed to ``ioc-ops`` by their category)."""
    processed = c.EVENTS_PROCESSED.name
    rejected = c.EVENTS_REJECTED.name
    up = f'up{{job="{EXPORTER_JOB}"}}'
    office = office_hours().replace("\n", "\n  ")
    pct = vi_pct("$value")
    return [
        alert(
            FEED_STALLED,
            f"sum(increase({processed}[15m])) == 0\nand on ()\n(\n  {office}\n)",
            "1m",
            "page",
            CATEGORY_PIPELINE,
            Text(
                "Luồng sự kiện ioc bị ngừng",
                "Không có sự kiện nào được xử lý trong 15 phút qua, trong giờ hành chính "
                "(thứ Hai – thứ Sáu, 07:30 – 17:00, UTC+7); các cảnh báo KPI của luồng "
                f"{FEED} bị tạm chặn khi cảnh báo này đang kích hoạt.",
                "The ioc event feed is stalled",
                "No event was processed in the last 15 minutes during office hours (Mon-Fri "
                f"07:30-17:00, UTC+7); KPI alerts of feed {FEED} are inhibited while this fires.",
            ),
        ),
        alert(
            "IocConsumerLagHigh",
            f"max({c.CONSUMER_LAG.name}) > 10000",
            "10m",
            "ticket",
            CATEGORY_PIPELINE,
            Text(
                "Worker ioc xử lý chậm so với topic sự kiện",
                "Độ trễ lớn nhất của một phân vùng là {{ $value | humanize }} tin nhắn "
                "(trên 10000 trong 10 phút).",
                "The ioc worker lags behind the event topic",
                "The largest partition lag of the worker is {{ $value | humanize }} messages "
                "(more than 10000 for 10 minutes).",
            ),
        ),
        alert(
            "IocConsumerPartitionStalled",
            f"max by (partition) ({c.PARTITION_STALLED.name}) > 0",
            "5m",
            "page",
            CATEGORY_PIPELINE,
            Text(
                "Một phân vùng ioc bị dừng ở một lô bản ghi không giải mã được",
                "Worker đã tạm dừng phân vùng {{ $labels.partition }} suốt 5 phút tại một lô bản "
                "ghi không giải mã được (nhật ký của worker ghi topic, phân vùng, offset và "
                "lỗi); không bản ghi nào bị bỏ qua, nhưng KPI của các hồ sơ thuộc phân vùng "
                "này đứng yên. Hãy khắc phục nguyên nhân (ví dụ cài đặt codec): worker thử "
                "lại mỗi phút.",
                "An ioc partition is stalled at a batch the worker cannot decode",
                "The worker has kept partition {{ $labels.partition }} paused for 5 minutes at "
                "a record batch it cannot decode (its log names topic, partition, offset and "
                "error); nothing is skipped, but the KPIs of that partition's dossiers stand "
                "still. Fix the cause (e.g. install the codec): the worker retries every minute.",
            ),
        ),
        alert(
            "IocEventsRejectedHigh",
            f"sum(rate({rejected}[10m]))\n/ (sum(rate({processed}[10m])) "
            f"+ sum(rate({rejected}[10m])))\n> 0.05",
            "5m",
            "ticket",
            CATEGORY_PIPELINE,
            Text(
                "Nhiều sự kiện ioc bị từ chối",
                f"{pct} số sự kiện tiêu thụ trong 10 phút qua bị từ chối (ngưỡng 5 %); "
                "xem topic dead-letter.",
                "Many ioc events are rejected",
                "{{ $value | humanizePercentage }} of the consumed events were rejected over "
                "the last 10 minutes (more than 5%); see the dead-letter topic.",
            ),
        ),
        alert(
            "IocExporterRedisDown",
            f"{c.EXPORTER_REDIS_UP.name} == 0",
            "2m",
            "page",
            CATEGORY_PIPELINE,
            Text(
                "Exporter ioc không đọc được Redis",
                "Exporter tại {{ $labels.instance }} không đọc được Redis: thiếu các chuỗi số "
                "liệu KPI.",
                "The ioc exporter cannot read Redis",
                "The exporter at {{ $labels.instance }} cannot read Redis: KPI series are missing.",
            ),
        ),
        alert(
            "IocExporterDown",
            f"{up} == 0\nor\nabsent({up})",
            "2m",
            "page",
            CATEGORY_PIPELINE,
            Text(
                "Exporter ioc ngừng hoạt động",
                "Prometheus không thu thập được số liệu từ exporter ioc{{ with $labels.instance "
                "}} tại {{ . }}{{ end }} (job " + EXPORTER_JOB + "), hoặc không có target này.",
                "The ioc exporter is down",
                "Prometheus cannot scrape the ioc exporter{{ with $labels.instance }} at {{ . }}"
                "{{ end }} (job " + EXPORTER_JOB + "), or has no such target.",
            ),
        ),
    ]
