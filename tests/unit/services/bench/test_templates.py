"""The report's prose templates: every placeholder filled, every template used, headings kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from services.bench import sections
from services.bench.config import BenchConfig
from services.bench.report import Figure, Section
from services.bench.scrape import Scrape
from services.bench.templates import fill, names, placeholders
from services.bench.throughput import Memory, Throughput
from services.bench.workers import WorkerRun

_LEFT_OVER = re.compile(r"[${}]")


def test_every_template_fills_without_leftover_markers() -> None:
    assert "throughput" in names() and "intro" in names()
    for name in names():
        values = {key: f"<{key}>" for key in placeholders(name)}
        text = fill(name, **values)
        assert text and text == text.strip()
        assert not _LEFT_OVER.search(text), name
        for value in values.values():
            assert value in text


def test_fill_wants_exactly_the_placeholders() -> None:
    assert placeholders("kpi") == {"label"}
    assert fill("kpi", label="61,089 events").startswith("`ioc kpi LOG --format prometheus")
    with pytest.raises(KeyError):
        fill("kpi")
    with pytest.raises(KeyError):
        fill("kpi", label="x", extra="y")


def _figure(label: str) -> Figure:
    return Figure(label, "events/s", [1.0])


def _all_sections(cfg: BenchConfig, raw: Path) -> list[Section]:  # as run.run makes them
    tp = Throughput(1000, 100, cluster=True)
    tp.ours_runs.append(WorkerRun(1.0, 1000, diff=["ioc_a 1.0"], restarts=1))
    tp.failures.append("bench: fewer than 1000 messages counted")
    mem = Memory(2 * 1024 * 1024, {"dos": {"bytes": 980, "keys": 1, "elements": 10}}, 3, 1000)
    scrape = Scrape([_figure("GET /metrics")], 4096, {55: 1024 * 1024})
    fresh = [_figure(f"p{i}") for i in range(4)]
    return [
        sections.section("kpi", [_figure("wall"), _figure("rss")], label="1,000 events"),
        sections.throughput_section(tp, "1,000 events"),
        sections.profile_section(raw),
        sections.section("replay", [_figure("replay")], partitions=6, label="1,000 events"),
        sections.section("freshness", fresh, rate=1000, seconds=60, partitions=6),
        sections.section("scrape", scrape.figures),
        sections.memory_section(mem, scrape, tp),
        sections.backfill_section(cfg, [_figure("backfill")], 5_380_287),
    ]


def test_every_section_uses_its_templates_and_fills_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    real: Callable[..., str] = fill  # the function sections imported as its own ``fill``

    def recording(name: str, **values: object) -> str:
        used.append(name)
        return real(name, **values)

    monkeypatch.setattr(sections, "fill", recording)
    monkeypatch.setattr(sections, "py_spy", lambda: "py-spy")
    raw = tmp_path / "profile.raw"
    raw.write_text("main (a.py:1);parse_batch (ioc_monitor/events.py:2) 7\n", encoding="utf-8")
    cfg = BenchConfig.from_env({})
    text = sections.report(
        cfg,
        _all_sections(cfg, raw),
        date="2026-01-01 00:00 UTC",
        machine={"CPU": "test"},
        versions={"Python": "3.11"},
        settings={"throughput log size": "1,000 events"},
    )
    quick = BenchConfig.from_env({"IOC_BENCH_QUICK": "1"})
    sections.report(quick, [], date="D", machine={}, versions={}, settings={})
    monkeypatch.setattr(sections, "py_spy", lambda: None)
    sections.profile_section(raw)
    sections.backfill_section(cfg)
    assert set(used) == set(names())  # no template is left unused
    assert not _LEFT_OVER.search(text)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Benchmarks",
        "## Goals at a glance",
        "## Machine and versions",
        "## 1. End-to-end throughput",
        "### 7. Scale-out",
        "## 1b. Profile of the worker",
        "## 2. Replay producer rate",
        "## 3. Freshness",
        "## 4. Scrape time and size",
        "## 5. Memory",
        "## 6. Backfill",
        "## 8. Offline: `ioc kpi`",
    ]
    assert "until the Redis counters reach 5,380,287, and by two `ioc worker`" in text
    assert "**Findings.** 1 worker process(es) exited" in text
    assert "**Failed scale-out runs: 1** (left out of the figures above): bench:" in text
    assert "```\nioc_a 1.0\n```" in text
    assert "| (samples) | 7 |" in text


def test_skipped_sections_read_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sections, "py_spy", lambda: None)
    profile = sections.profile_section(tmp_path / "missing.raw")
    assert profile.method.endswith("between runs and days.\n\nSkipped: py-spy is not installed.")
    backfill = sections.backfill_section(BenchConfig.from_env({}))
    assert (
        backfill.method == "Skipped (quick mode or `IOC_BENCH_BACKFILL=0`)."
        and not backfill.figures
    )


def test_a_backfill_without_the_worker_runs_says_so() -> None:
    cfg = BenchConfig.from_env({"IOC_BENCH_BACKFILL_WORKERS": "0"})
    method = sections.backfill_section(cfg, [_figure("backfill")], 5_380_287).method
    assert "timed from its start until it exits (the `ioc worker` runs were not made" in method
    assert "Redis counters" not in method


def test_intro_of_a_quick_report() -> None:
    cfg = BenchConfig.from_env({"IOC_BENCH_QUICK": "1"})
    text = sections.report(cfg, [], date="D", machine={}, versions={}, settings={})
    assert (
        "on D (**quick smoke size — not the reference figures**).\nEach figure is the "
        "**median** of 1 run(s)" in text
    )
