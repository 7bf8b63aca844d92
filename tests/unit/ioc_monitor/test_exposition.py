"""The cached text renderer gives exactly prometheus-client's exposition, scrape after scrape."""

from __future__ import annotations

import dataclasses
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from ioc_monitor.exposition import TextRenderer, families_text
from ioc_monitor.offline import exposition
from ioc_monitor.registry import parse_registry
from tests.unit.ioc_monitor.ioc_testkit import REGISTRY, event, run, scorecard_unit_stream, ts

CLOCK = ts("2026-03-20T12:00:00+07:00")


def test_equal_to_generate_latest_at_each_scrape_as_units_change() -> None:
    renderer = TextRenderer(REGISTRY)
    stream: list[bytes | dict[str, Any]] = [
        *scorecard_unit_stream(),
        event(3, unit_id="u-b", dossier_id="b-1"),
        b"{",
    ]
    snap = run(stream).snapshot(CLOCK)
    assert renderer.render(snap) == exposition(snap, REGISTRY)
    assert renderer.render(snap) == exposition(snap, REGISTRY)  # from the cache
    # u-b changes (a new figures object); u-a keeps its object: only u-b is rendered again
    changed = run([*stream, event(2, unit_id="u-b", dossier_id="b-2")]).snapshot(CLOCK)
    mixed = dataclasses.replace(changed, units={**changed.units, "u-a": snap.units["u-a"]})
    assert renderer.render(mixed) == exposition(mixed, REGISTRY)
    empty = run([]).snapshot(None)
    assert renderer.render(empty) == exposition(empty, REGISTRY)


def test_extra_families_come_last() -> None:
    up = GaugeMetricFamily("ioc_exporter_redis_up", "1 if Redis was read.")
    up.add_metric([], 1.0)
    snap = run([event(2)]).snapshot(CLOCK)
    text = TextRenderer(REGISTRY).render(snap, [up])
    assert text == exposition(snap, REGISTRY) + families_text([up])
    assert text.endswith(b"ioc_exporter_redis_up 1.0\n")


def test_hostile_and_unicode_names_are_escaped_like_prometheus_client() -> None:
    registry = parse_registry(
        'units:\n  - id: u-x\n    name: "Xã \\"Hạ\\" Long\\\\ <b>\\n"\n    level: commune\n'
        "    on_time_target: 0.95\n"
    )
    renderer = TextRenderer(registry)
    empty = run([]).snapshot(CLOCK)
    text = renderer.render(empty)
    assert text == exposition(empty, registry)
    assert 'name="Xã \\"Hạ\\" Long\\\\ <b>\\n"'.encode() in text
