"""The ``ioc-pipeline`` board: event feed health (watermark age, lag, rejects, Redis)."""

from __future__ import annotations

from typing import Any

from ioc_monitor import catalogue as c
from services.ops.alertkit import EXPORTER_JOB
from services.ops.panels import PCT, Board, dashboard

__all__ = ["pipeline"]

Doc = dict[str, Any]


def pipeline() -> Doc:
    """The ``ioc-pipeline`` dashboard model."""
    b = Board()
    up = f'up{{job="{EXPORTER_JOB}"}}'
    age = f"time() - {c.WATERMARK.name}"
    processed, rejected, duplicate = (
        f"rate({s.name}[$__rate_interval])"
        for s in (c.EVENTS_PROCESSED, c.EVENTS_REJECTED, c.EVENTS_DUPLICATE)
    )
    b.row("Luồng sự kiện")
    b.stat("Tuổi watermark", "Seconds since the event clock (watermark).", age, "s", 6)
    since = f"time() - {c.LAST_PROCESSED.name}"
    b.stat("Từ sự kiện xử lý gần nhất", "Seconds since the last processed event.", since, "s", 6)
    b.stat("Exporter hoạt động", "The exporter answers Prometheus' scrapes.", up, "bool", 6)
    redis = c.EXPORTER_REDIS_UP.help
    b.stat("Redis đọc được (qua exporter)", redis, c.EXPORTER_REDIS_UP.name, "bool", 6)
    b.ts("Sự kiện xử lý /giây", "Events processed per second.", [(f"sum({processed})", "xử lý")])
    by_reason = [(f"sum by (reason) ({rejected})", "{{reason}}")]
    b.ts("Từ chối /giây theo lý do", "Events rejected per second, by reason.", by_reason)
    b.ts("Trùng lặp /giây", "Duplicate events per second.", [(f"sum({duplicate})", "trùng lặp")])
    share = f"sum({rejected}) / (sum({processed}) + sum({rejected}))"
    en = "Rejected share of the consumed events."
    b.ts("Tỷ lệ bị từ chối", en, [(share, "từ chối")], PCT)
    lag = [(c.CONSUMER_LAG.name, "phân vùng {{partition}}")]
    b.ts("Độ trễ consumer theo phân vùng", c.CONSUMER_LAG.help, lag)
    b.ts("Tuổi watermark", "Seconds since the watermark.", [(age, "tuổi watermark")], "s")
    b.row("Exporter")
    duration = [(c.EXPORTER_SCRAPE_SECONDS.name, "{{instance}}")]
    b.ts("Thời gian thu thập", c.EXPORTER_SCRAPE_SECONDS.help, duration, "s", 12)
    health = [(up, "exporter {{instance}}"), (c.EXPORTER_REDIS_UP.name, "redis qua {{instance}}")]
    b.ts("Exporter và Redis", "Exporter up and Redis readable.", health, w=12)
    stalled = [(c.PARTITION_STALLED.name, "phân vùng {{partition}}")]
    b.ts("Phân vùng bị dừng", c.PARTITION_STALLED.help, stalled, w=24)
    en = "IOC pipeline: event feed and exporter health"
    return dashboard("ioc-pipeline", "IOC – Luồng dữ liệu", en, b, [])
