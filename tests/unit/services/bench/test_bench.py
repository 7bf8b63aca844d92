"""The bench's pure parts: figures and their report, settings, profile categories, layouts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ioc_monitor.registry import parse_registry
from services.bench.config import BenchConfig
from services.bench.profile import CATEGORIES, categorize, parse_collapsed, shares
from services.bench.report import Figure, Goal, Section, format_value, render, spread
from services.bench.state import key_kind, registry_yaml, unit_ids
from services.bench.throughput import floor_note
from services.bench.workers import samples

# --- figures ---------------------------------------------------------------------------


def test_median_and_goal_of_a_figure() -> None:
    fig = Figure("rate", "events/s", [9.0, 30.0, 21.0], goal=Goal(">=", 20.0))
    assert fig.median == 21.0
    assert fig.met is True
    fig.values = [9.0, 19.0, 30.0]
    assert fig.met is False


def test_at_most_goal_and_missing_values() -> None:
    fig = Figure("p99", "ms", [800.0, 1200.0, 900.0], goal=Goal("<=", 1000.0))
    assert fig.met is True
    assert Figure("x", "ms", goal=Goal("<=", 1.0)).met is None
    assert Figure("x", "ms", [1.0]).met is None  # no goal


def test_format_value_per_unit() -> None:
    assert format_value(12345.6, "events/s") == "12,346 events/s"
    assert format_value(0.421, "s") == "0.42 s"
    assert format_value(75.0, "s") == "75.0 s"
    assert format_value(3.14159, "x") == "3.14×"
    assert format_value(12.5, "x") == "12.5×"
    assert format_value(57.4, "%") == "57 %"
    assert format_value(4247, "count") == "4,247"
    assert format_value(12.34, "ms") == "12.3 ms"
    assert format_value(1234.0, "ms") == "1,234 ms"
    assert format_value(1.25, "MiB") == "1.2 MiB"


def test_spread_shows_min_and_max() -> None:
    assert spread([3.0, 1.0, 2.0], "s") == "1.00 s – 3.00 s"
    assert spread([2.0], "s") == "2.00 s"
    assert spread([], "s") == "–"


def test_render_has_summary_tables_and_sections() -> None:
    met = Figure("ours", "events/s", [25_000.0, 21_000.0, 30_000.0], goal=Goal(">=", 20_000))
    missed = Figure("p99", "ms", [1500.0], goal=Goal("<=", 1000.0))
    plain = Figure("ceiling", "events/s", [400_000.0])
    text = render(
        title="Benchmarks",
        intro="Intro.",
        machine={"CPU": "Test CPU", "cores": "2"},
        versions={"Python": "3.11"},
        settings={"runs per figure": "3"},
        sections=[
            Section("1. Throughput", "Method one.", [met, plain], extra="Extra text."),
            Section("3. Freshness", "Method three.", [missed]),
        ],
    )
    assert text.startswith("# Benchmarks\n")
    assert text.endswith("\n")
    summary = text.split("## Goals at a glance", 1)[1].split("## Machine", 1)[0]
    assert "ours" in summary and "p99" in summary and "ceiling" not in summary
    assert "| ours | 25,000 events/s | 21,000 events/s – 30,000 events/s | 3 |" in text
    assert "≥ 20,000 events/s | **met**" in text
    assert "≤ 1,000 ms | **missed**" in text
    assert "| CPU | Test CPU |" in text
    assert text.index("## 1. Throughput") < text.index("Extra text.") < text.index("## 3.")


# --- settings --------------------------------------------------------------------------


def test_floor_note_puts_the_absolute_goal_beside_this_runs_floor() -> None:
    # 0.7 * 14,122 = 9,885.4, rounded; 32,386/s is the reference floor.
    assert floor_note(14_122) == (
        "the goal comes from the reference floor 32,386/s; 70 % of this run's floor = 9,885/s"
    )
    assert floor_note(None) == ""


def test_config_defaults_and_quick_mode() -> None:
    full = BenchConfig.from_env({})
    assert full.runs == 3 and full.days == 70 and full.backfill and not full.quick
    assert full.backfill_workers
    assert not BenchConfig.from_env({"IOC_BENCH_BACKFILL_WORKERS": "0"}).backfill_workers
    assert full.out == Path("docs/benchmarks.md")
    assert full.scrape_units == (55, 1000, 3321)
    quick = BenchConfig.from_env({"IOC_BENCH_QUICK": "1"})
    assert quick.quick and quick.runs == 1 and not quick.backfill
    assert quick.out != full.out  # a smoke run never overwrites the reference report
    tuned = BenchConfig.from_env(
        {"IOC_BENCH_RUNS": "5", "IOC_BENCH_SECTIONS": "replay, kpi", "IOC_BENCH_CLUSTER": "0"}
    )
    assert tuned.runs == 5 and tuned.sections == ("replay", "kpi") and not tuned.cluster


@pytest.mark.parametrize("env", [{"IOC_BENCH_RUNS": "0"}, {"IOC_BENCH_SECTIONS": "nope"}])
def test_config_refuses_bad_values(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        BenchConfig.from_env(env)


# --- profile categories ----------------------------------------------------------------


def test_collapsed_stacks_are_grouped_into_categories() -> None:
    raw = [
        "main (a.py:1);BatchProcessor.process (streams/processor.py:9);"
        "parse_batch (ioc_monitor/engine.py:70) 30",
        "main (a.py:1);Consumer._drain_messages (faust/transport/consumer.py:1) 50",
        "main (a.py:1);BaseEventLoop._run_once (asyncio/base_events.py:1) 20",
        "not a sample line",
    ]
    stacks = parse_collapsed(raw)
    assert sum(stacks.values()) == 100
    got = shares(stacks)
    assert got[CATEGORIES[0][0]] == 30.0
    assert got["Faust consumer: fetch loop, per-message dispatch"] == 50.0
    assert got["asyncio event loop and other"] == 20.0
    assert shares(Counter()) == {}


def test_our_redis_calls_count_as_ours_not_as_the_event_loop() -> None:
    stack = (
        "BatchProcessor.process (streams/processor.py:1);"
        "commit (ioc_monitor/redis_writer.py:2);execute_command (redis/asyncio/client.py:3)"
    )
    assert categorize(stack) == "ours: Redis client (redis-py, hiredis)"


def test_our_redis_package_is_not_counted_as_redis_py() -> None:
    """``ioc_monitor/redis/...`` frames are ours: the marker is redis-py's own path."""
    stack = (
        "BatchProcessor.process (streams/processor.py:1);"
        "prepare (ioc_monitor/redis/writer.py:2);_read_prune (ioc_monitor/redis/writer.py:3)"
    )
    assert categorize(stack) == "ours: other processor code"
    decode = stack + ";DossierState.decode (ioc_monitor/rules.py:4)"
    assert categorize(decode) == "ours: dossier state decode (redis.writer.prepare)"


def test_the_helper_channel_is_its_own_row_even_under_the_agent() -> None:
    worker = (
        "Agent._execute_actor (faust/agents/agent.py:1);KpiAgent.run (streams/agent.py:2);"
        "HelperProcessor.process (streams/helper.py:3)"
    )
    helper = "Channel._read_frames (streams/channel.py:4)"
    row = "ours: worker <-> helper channel"
    assert categorize(worker) == categorize(helper) == row
    inside = "_serve (streams/helper.py:1);BatchProcessor.process (streams/processor.py:1)"
    assert categorize(inside + ";parse_batch (ioc_monitor/engine.py:9)").startswith("ours: parse")


# --- synthetic state and comparisons -----------------------------------------------------


def test_synthetic_registry_is_a_valid_registry() -> None:
    registry = parse_registry(registry_yaml(3))
    assert (
        [u.id for u in registry] == unit_ids(3) == ["bench-u00000", "bench-u00001", "bench-u00002"]
    )
    assert {u.level for u in registry} == {"commune"}


def test_key_kinds_of_the_layout() -> None:
    assert key_kind("p", "p:{3}:dos") == "dos"
    assert key_kind("p", "p:{3}:m:bench-u00001:496065") == "m"
    assert key_kind("p", "p:{3}:moi:bench-u00001") == "moi"
    assert key_kind("p", "p:{12}:open:u") == "open"
    assert key_kind("p", "p:parts") == "global"


def test_samples_leave_out_comments_and_live_only_series() -> None:
    text = "\n".join(
        [
            "# HELP x y",
            "ioc_events_processed_total 3.0",
            'ioc_consumer_lag_messages{partition="0"} 0.0',
            "ioc_exporter_redis_up 1.0",
            "ioc_a 1.0",
            "",
        ]
    )
    assert samples(text) == ["ioc_a 1.0", "ioc_events_processed_total 3.0"]
