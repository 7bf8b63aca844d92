"""The scrape benchmark tells a scrape holding the Redis state from a failed one."""

from __future__ import annotations

from services.bench.scrape import _redis_up


def test_a_scrape_counts_only_when_the_exporter_read_redis() -> None:
    ok = b"# HELP x\nioc_events_processed_total 3.0\nioc_exporter_redis_up 1.0\n"
    failed = b"ioc_exporter_redis_up 0.0\nioc_exporter_scrape_seconds 5.01\n"
    assert _redis_up(ok)
    assert not _redis_up(failed)
    assert not _redis_up(b"")
