"""The report's sections: measured figures beside their method text from ``templates/``.

Pure composition (no measuring): each function takes the figures a benchmark produced,
fills the section's template (:func:`services.bench.templates.fill`) and adds the tables
built from the figures. :func:`report` renders the whole Markdown report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from services.bench.config import BenchConfig
from services.bench.profile import parse_collapsed, shares
from services.bench.report import MIB, Figure, Section, render, table
from services.bench.scrape import Scrape
from services.bench.state import UNIT_KEYS
from services.bench.templates import fill
from services.bench.throughput import Memory, Throughput
from services.bench.workers import py_spy

__all__ = [
    "backfill_section",
    "memory_section",
    "profile_section",
    "report",
    "section",
    "throughput_section",
]

_BACKFILL: Final = "6. Backfill"
#: Title of each section whose text is its template alone, by template name.
_TITLES: Final = dict(
    kpi="8. Offline: `ioc kpi`",
    replay="2. Replay producer rate",
    freshness="3. Freshness",
    scrape="4. Scrape time and size",
)


def section(name: str, figures: list[Figure], **values: object) -> Section:
    """A section whose text is the template ``name`` filled with ``values``, then ``figures``.

    Args:
        name: ``kpi``, ``replay``, ``freshness`` or ``scrape``.
        figures: The measured figures, in table order.
        **values: The template's placeholders, e.g. ``label="61,089 events"``.
    """
    return Section(_TITLES[name], fill(name, **values), figures)


def throughput_section(tp: Throughput, label: str) -> Section:
    """Section 1 with section 7 (scale-out), differences from ``ioc kpi`` and findings."""
    figures = [tp.ours, tp.ceiling, tp.naive, tp.floor, tp.processor]
    figures += [tp.of_ceiling, tp.of_naive, tp.of_floor, tp.cpu]
    scale = [tp.two, tp.two_ratio]
    if tp.cluster:
        scale += [tp.c1, tp.c2, tp.c_ratio]
    runs = tp.worker_runs
    extra = [fill("scale-out", table="\n".join(table(scale)))]
    diffs = [d for r in runs for d in r.diff]
    if diffs:
        extra.append(fill("diffs", lines="\n".join(diffs)))
    if tp.failures:
        extra.append(fill("failures", count=len(tp.failures), failures="; ".join(tp.failures)))
    restarts = sum(r.restarts for r in runs)
    if restarts or tp.failures:
        extra.append(fill("findings", restarts=restarts))
    method = fill("throughput", label=label)
    return Section("1. End-to-end throughput", method, figures, extra="\n\n".join(extra))


def profile_section(raw: Path) -> Section:
    """Section 1b from py-spy's raw output ``raw`` (skipped without py-spy or the file)."""
    title, method = "1b. Profile of the worker", fill("profile")
    if py_spy() is None or not raw.exists():
        return Section(title, f"{method}\n\n{fill('no-profile')}")
    stacks = parse_collapsed(raw.read_text(encoding="utf-8").splitlines())
    rows = ["| category | share of worker + helper CPU samples |", "|---|---:|"]
    rows += [f"| {name} | {pct:.1f} % |" for name, pct in shares(stacks).items()]
    rows.append(f"| (samples) | {sum(stacks.values()):,} |")
    return Section(title, method, extra="\n".join(rows))


#: Dossiers a province receives in a year (DOMAIN.md: about a million in Quảng Ninh).
PROVINCE_YEAR_DOSSIERS = 1_000_000


def _breakdown_figures(mem: Memory) -> list[Figure]:
    b = mem.breakdown

    def get(kind: str, what: str) -> int:
        return b.get(kind, {}).get(what, 0)

    def each(kind: str) -> float:
        return get(kind, "bytes") / max(get(kind, "elements"), 1)

    per_dossier = (get("dos", "bytes") + get("done", "bytes")) / max(get("dos", "elements"), 1)
    bucket_kinds = tuple(k for k in UNIT_KEYS if k != "open")
    unit_total = sum(get(k, "bytes") for k in bucket_kinds)
    return [
        Figure("Redis used_memory growth, whole throughput log", "MiB",
               [mem.used_delta / MIB], note=f"{mem.n:,} events"),
        Figure("Redis per open dossier (state + open index)", "bytes",
               [each("dos") + each("open")], note=f"{get('open', 'elements'):,} open"),
        Figure("Redis per dossier: state with event-id digests + completion index", "bytes",
               [per_dossier], note=f"{get('dos', 'elements'):,} dossiers"),
        Figure("Redis per province-year of dossiers (1 million)", "MiB",
               [per_dossier * PROVINCE_YEAR_DOSSIERS / MIB],
               note="completed ones kept 800 days of watermark: about 2.2 years held"),
        Figure("Redis per unit, window state after the throughput log", "KiB",
               [unit_total / 1024 / max(mem.units, 1)], note=f"{mem.units} units"),
    ]  # fmt: skip


def _breakdown_table(breakdown: Mapping[str, Mapping[str, int]]) -> str:
    rows = [
        "| key kind | keys | elements | bytes | bytes/element |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, v in sorted(breakdown.items(), key=lambda kv: -kv[1]["bytes"]):
        per = v["bytes"] / v["elements"] if v["elements"] else 0
        rows.append(
            f"| `{kind}` | {v['keys']:,} | {v['elements']:,} | {v['bytes']:,} | {per:,.0f} |"
        )
    return "\n".join(rows)


def memory_section(mem: Memory | None, scrape: Scrape | None, tp: Throughput | None) -> Section:
    """Section 5, memory: from the first throughput run and the scrape benchmark."""
    section = Section("5. Memory", fill("memory"))
    if tp is not None:
        section.figures.append(tp.hwm)
    if mem is not None:
        section.figures += _breakdown_figures(mem)
        section.extra = fill("memory-breakdown", table=_breakdown_table(mem.breakdown))
    if scrape is not None:
        section.figures.append(
            Figure("Redis per unit, window state of a full year (commune volume)", "KiB",
                   [scrape.unit_bytes / 1024], note="template unit, 6 partitions")
        )  # fmt: skip
        for count, used in sorted(scrape.used_memory.items()):
            section.figures.append(
                Figure(f"Redis used_memory, {count:,} units × a year", "MiB", [used / MIB])
            )
    return section


def backfill_section(cfg: BenchConfig, figures: list[Figure] | None = None, n: int = 0) -> Section:
    """Section 6, backfill of a log of ``n`` messages (without figures: skipped)."""
    if figures is None:
        return Section(_BACKFILL, fill("no-backfill"))
    workers = (
        f"; then, in the same run, by one `ioc worker` with its default settings (far"
        f" behind, it first catches up the way `ioc backfill` reads, then joins its"
        f" consumer group), timed from its start until the Redis counters reach {n:,},"
        f" and by two `ioc worker` processes of one group (one per core of this machine)."
        f" The consumer group's own rate, without a catch-up, is section 1's"
        if cfg.backfill_workers
        else " (the `ioc worker` runs were not made: `IOC_BENCH_BACKFILL_WORKERS=0`)"
    )
    method = fill(
        "backfill",
        days=cfg.backfill_days,
        events=f"{n:,}",
        partitions=cfg.partitions,
        workers=workers,
    )
    return Section(_BACKFILL, method, figures)


def _order(section: Section) -> tuple[int, str]:
    m = re.match(r"(\d+)(\w?)\.", section.title)
    return (int(m.group(1)), m.group(2)) if m else (99, section.title)


def report(
    cfg: BenchConfig,
    sections: Sequence[Section],
    *,
    date: str,
    machine: Mapping[str, str],
    versions: Mapping[str, str],
    settings: Mapping[str, str],
) -> str:
    """The whole report: intro, goals, machine, settings, the sections in number order.

    Args:
        cfg: Settings (runs, sizes).
        sections: The sections measured so far.
        date: When it was written, e.g. ``2026-11-26 05:50 UTC``.
        machine: :func:`~services.bench.env.machine_info`.
        versions: :func:`~services.bench.env.versions`.
        settings: Further bench settings (log size, topic, load at the start).

    Returns:
        The Markdown text.
    """
    quick = " " + fill("quick") if cfg.quick else ""
    return render(
        title="Benchmarks",
        intro=fill("intro", date=date, quick=quick, runs=cfg.runs),
        machine=machine,
        versions=versions,
        settings={
            "runs per figure": str(cfg.runs),
            "throughput log": f"`ioc simulate --days {cfg.days}` (seed 1)",
            "partitions": str(cfg.partitions),
            "naive peer events per run": f"{cfg.naive_events:,}",
            "freshness": f"{cfg.freshness_s} s at {cfg.freshness_rate} events/s",
            "Redis": "private `redis-server` started by the bench (AOF everysec, like the stack)",
            **settings,
        },
        sections=sorted(sections, key=_order),
    )
