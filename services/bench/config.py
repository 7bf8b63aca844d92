"""The bench's settings: :class:`BenchConfig`, read from the ``IOC_BENCH_*`` environment.

Every figure is the median and spread of ``IOC_BENCH_RUNS`` runs. ``IOC_BENCH_QUICK=1``
selects smoke sizes (the defaults in brackets) and writes
``.stack/bench/benchmarks-quick.md`` instead of ``docs/benchmarks.md``.

=============================  =================================================  =========
variable                       meaning                                            default
=============================  =================================================  =========
``IOC_BENCH_QUICK``            ``1``: smoke sizes, 1 run, no backfill             ``0``
``IOC_BENCH_RUNS``             runs per figure                                    3 (1)
``IOC_BENCH_DAYS``             simulated days of the throughput log               70 (5)
``IOC_BENCH_NAIVE_EVENTS``     messages the naive peer handles per run            100000
                                                                                  (10000)
``IOC_BENCH_BACKFILL``         ``0`` skips the one-year backfill                  1 (0)
``IOC_BENCH_BACKFILL_DAYS``    simulated days of the backfill log                 365
``IOC_BENCH_BACKFILL_WORKERS`` ``0``: the backfill by ``ioc backfill`` only (no    1
                               ``ioc worker`` runs)
``IOC_BENCH_FRESHNESS_S``      seconds of steady load per freshness run           60 (10)
``IOC_BENCH_FRESHNESS_RATE``   events/s of the freshness load                     1000
``IOC_BENCH_SCRAPE_UNITS``     unit counts of the scrape benchmark                55,1000,3321
``IOC_BENCH_CLUSTER``          ``0`` skips the Redis Cluster runs                 1
``IOC_BENCH_PROFILE``          ``0``: no extra, py-spy-profiled worker run        1
``IOC_BENCH_PARTITIONS``       partitions of the bench's topics                   6
``IOC_BENCH_SECTIONS``         subset: kpi,throughput,replay,freshness,scrape,    all
                               backfill
``IOC_BENCH_OUT``              report file                                        docs/...
=============================  =================================================  =========
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["SECTIONS", "BenchConfig"]

#: The bench's sections, as ``IOC_BENCH_SECTIONS`` names them.
SECTIONS: Final = ("kpi", "throughput", "replay", "freshness", "scrape", "backfill")
_OFF: Final = ("", "0")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    return int(raw) if raw else default


def _flag(env: Mapping[str, str], name: str, default: bool, off: tuple[str, ...] = _OFF) -> bool:
    return env.get(name, "1" if default else "0") not in off


@dataclass(frozen=True)
class BenchConfig:
    """The bench's settings, read from ``IOC_BENCH_*`` (see the module docstring).

    Attributes:
        quick: Smoke sizes (``IOC_BENCH_QUICK``).
        runs: Runs per figure.
        days: Simulated days of the throughput log.
        naive_events: Messages the naive peer handles per run.
        backfill: Run the one-year backfill.
        backfill_days: Simulated days of the backfill log.
        backfill_workers: Also backfill with one and two ``ioc worker`` processes.
        freshness_s: Seconds of steady load per freshness run.
        freshness_rate: Events/s of that load.
        scrape_units: Unit counts of the scrape benchmark.
        cluster: Run the Redis Cluster scale-out runs.
        profile: Make one more worker run, after the timed ones, under py-spy (its
            time is not counted).
        partitions: Partitions of the bench's topics.
        sections: The sections to run (a subset of :data:`SECTIONS`).
        out: The report file.
        cache: The bench's cache and work directory (``$IOC_STACK_DIR/bench``).
    """

    quick: bool
    runs: int
    days: int
    naive_events: int
    backfill: bool
    backfill_days: int
    backfill_workers: bool
    freshness_s: int
    freshness_rate: int
    scrape_units: tuple[int, ...]
    cluster: bool
    profile: bool
    partitions: int
    sections: tuple[str, ...]
    out: Path
    cache: Path

    @property
    def workdir(self) -> Path:
        """Working directory and logs of the processes the bench starts."""
        return self.cache / "run"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BenchConfig:
        """Read the settings from the environment (or the given mapping).

        Raises:
            ValueError: ``IOC_BENCH_RUNS`` is below 1 or a section name is unknown.
        """
        env = os.environ if environ is None else environ
        quick = _flag(env, "IOC_BENCH_QUICK", False, off=("", "0", "false", "no"))
        runs = _int(env, "IOC_BENCH_RUNS", 1 if quick else 3)
        sections = tuple(
            s.strip() for s in env.get("IOC_BENCH_SECTIONS", ",".join(SECTIONS)).split(",")
        )
        sections = tuple(s for s in sections if s)
        unknown = [s for s in sections if s not in SECTIONS]
        if runs < 1 or unknown:
            raise ValueError(f"IOC_BENCH_RUNS must be >= 1; unknown sections: {unknown}")
        default_out = ".stack/bench/benchmarks-quick.md" if quick else "docs/benchmarks.md"
        return cls(
            quick=quick,
            runs=runs,
            days=_int(env, "IOC_BENCH_DAYS", 5 if quick else 70),
            naive_events=_int(env, "IOC_BENCH_NAIVE_EVENTS", 10_000 if quick else 100_000),
            backfill=_flag(env, "IOC_BENCH_BACKFILL", not quick),
            backfill_days=_int(env, "IOC_BENCH_BACKFILL_DAYS", 365),
            backfill_workers=_flag(env, "IOC_BENCH_BACKFILL_WORKERS", True),
            freshness_s=_int(env, "IOC_BENCH_FRESHNESS_S", 10 if quick else 60),
            freshness_rate=_int(env, "IOC_BENCH_FRESHNESS_RATE", 1000),
            scrape_units=tuple(
                int(x) for x in env.get("IOC_BENCH_SCRAPE_UNITS", "55,1000,3321").split(",")
            ),
            cluster=_flag(env, "IOC_BENCH_CLUSTER", True),
            profile=_flag(env, "IOC_BENCH_PROFILE", True),
            partitions=_int(env, "IOC_BENCH_PARTITIONS", 6),
            sections=sections,
            out=Path(env.get("IOC_BENCH_OUT", default_out)),
            cache=Path(env.get("IOC_STACK_DIR", ".stack")) / "bench",
        )
