"""``make bench`` / ``python -m services.bench``: the pipeline measured side by side.

Runs the sections chosen by :class:`~services.bench.config.BenchConfig` (settings and
their defaults are listed there) against a private ``redis-server`` (and a private
3-node Redis Cluster for the scale-out runs) and the local stack's Kafka, and rewrites
the report (``docs/benchmarks.md``; quick: ``.stack/bench/benchmarks-quick.md``) after
each section. Every figure is the median and spread of ``IOC_BENCH_RUNS`` runs; every
ratio is computed within one run. See docs/benchmarks.md for the methods.

The package: one module per benchmark measures (``kpi``, ``throughput``, ``replay``, ``freshness``,
``scrape``, ``backfill``) on the inputs of :mod:`~services.bench.inputs`, with the
processes of :mod:`~services.bench.workers` and :mod:`~services.bench.consumers` and
the private Redis servers of :mod:`services.harness`; :mod:`~services.bench.sections`
puts the figures beside their method text (``templates/*.md``, filled by
:mod:`~services.bench.templates`) and :mod:`~services.bench.report` renders Markdown.
"""

from __future__ import annotations

import time

from services.bench.backfill import run_backfill
from services.bench.config import BenchConfig
from services.bench.env import load_average, machine_info, say, versions
from services.bench.freshness import run_freshness
from services.bench.inputs import count_lines, ensure_kafka, fill_topic, sim_log
from services.bench.kpi import Kpi, run_kpi
from services.bench.replay import run_replay
from services.bench.report import Figure, Section, format_value
from services.bench.scrape import Scrape, run_scrape
from services.bench.sections import (
    backfill_section,
    memory_section,
    profile_section,
    report,
    section,
    throughput_section,
)
from services.bench.throughput import Memory, Throughput, run_throughput
from services.harness import RedisCluster3, RedisServer

__all__ = ["main", "run"]


class _Report:
    """The sections measured so far; the report file is rewritten after each."""

    def __init__(self, cfg: BenchConfig, settings: dict[str, str]) -> None:
        self.cfg = cfg
        self.settings = settings
        self.sections: list[Section] = []

    def add(self, section: Section) -> None:
        """Add (or replace: same title) a section and rewrite the report."""
        self.sections = [s for s in self.sections if s.title != section.title]
        self.sections.append(section)
        self.write()

    def write(self) -> None:
        """Write the report file (the machine's figures are read now)."""
        text = report(
            self.cfg,
            self.sections,
            date=time.strftime("%Y-%m-%d %H:%M %Z"),
            machine=machine_info(),
            versions=versions(),
            settings=self.settings,
        )
        self.cfg.out.parent.mkdir(parents=True, exist_ok=True)
        self.cfg.out.write_text(text, encoding="utf-8")
        say(f"wrote {self.cfg.out}")


def run(cfg: BenchConfig) -> list[Section]:
    """Run the selected sections and write the report.

    Args:
        cfg: Settings.

    Returns:
        The sections written.
    """

    def want(name: str) -> bool:
        return name in cfg.sections

    ensure_kafka()
    cfg.cache.mkdir(parents=True, exist_ok=True)
    log = sim_log(cfg.cache, cfg.days)
    n = count_lines(log)
    label = f"{n:,} events"
    out = _Report(
        cfg,
        {
            "throughput log size": label,
            "load average at the start (1, 5, 15 min)": load_average(),
        },
    )
    kpi: Kpi | None = None
    tp: Throughput | None = None
    mem: Memory | None = None
    scrape: Scrape | None = None
    with RedisServer(cfg.cache / "redis") as server:
        if want("kpi") or want("throughput"):
            kpi = run_kpi(log, cfg.runs, label)
            out.add(section("kpi", [kpi.wall, kpi.rss], label=label))
        if want("throughput"):
            topic = fill_topic(log, n, cfg.partitions)
            out.settings["throughput topic"] = f"`{topic}`"
            tp = Throughput(n, min(cfg.naive_events, n), cfg.cluster)
            expected = kpi.expected if kpi else None
            if cfg.cluster:
                with RedisCluster3(cfg.cache.parent / "redis-cluster") as cluster:
                    mem = run_throughput(cfg, topic, n, server, cluster, expected, tp)
            else:
                mem = run_throughput(cfg, topic, n, server, None, expected, tp)
            out.add(throughput_section(tp, label))
            if cfg.profile:
                out.add(profile_section(cfg.cache / "profile-worker.raw"))
        if want("replay"):
            replay = run_replay(cfg, log, n)
            out.add(section("replay", replay, partitions=cfg.partitions, label=label))
        if want("freshness"):
            fresh = run_freshness(cfg, log, server)
            out.add(
                section(
                    "freshness",
                    [fresh.p50, fresh.p99, fresh.worst, fresh.resolution],
                    rate=cfg.freshness_rate,
                    seconds=cfg.freshness_s,
                    partitions=cfg.partitions,
                )
            )
        if want("scrape"):
            scrape = run_scrape(cfg, server)
            out.add(section("scrape", scrape.figures))
        if want("throughput") or want("scrape"):
            out.add(memory_section(mem, scrape, tp))
        if want("backfill") and cfg.backfill:

            def backfilled(figures: list[Figure], events: int) -> None:  # after each run
                out.add(backfill_section(cfg, figures, events))

            run_backfill(cfg, server, backfilled)
        elif want("backfill"):
            out.add(backfill_section(cfg))
    out.write()
    return out.sections


def main() -> int:
    """Entry point of ``python -m services.bench``: run with the environment's settings."""
    cfg = BenchConfig.from_env()
    say(f"settings: {cfg}")
    started = time.monotonic()
    run(cfg)
    say(f"done in {format_value(time.monotonic() - started, 's')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
