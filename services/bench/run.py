"""``make bench`` / ``python -m services.bench.run``: the pipeline measured side by side.

Writes ``docs/benchmarks.md`` (``IOC_BENCH_QUICK=1``: a smoke size, written to
``.stack/bench/benchmarks-quick.md``). Every figure is the median and spread of
``IOC_BENCH_RUNS`` runs; every ratio is computed within one run from figures measured
one after the other on the same topic. See docs/benchmarks.md for the methods.

Settings (environment):

=============================  =================================================  =========
variable                       meaning                                            default
=============================  =================================================  =========
``IOC_BENCH_QUICK``            ``1``: smoke sizes, 1 run, no backfill             ``0``
``IOC_BENCH_RUNS``             runs per figure                                    3 (1)
``IOC_BENCH_DAYS``             simulated days of the throughput log               70 (5)
``IOC_BENCH_NAIVE_EVENTS``     messages the naive peer handles per run            100000
``IOC_BENCH_BACKFILL``         ``0`` skips the one-year backfill                  1 (0)
``IOC_BENCH_BACKFILL_DAYS``    simulated days of the backfill log                 365
``IOC_BENCH_FRESHNESS_S``      seconds of steady load per freshness run           60 (10)
``IOC_BENCH_SCRAPE_UNITS``     unit counts of the scrape benchmark                55,1000,3321
``IOC_BENCH_CLUSTER``          ``0`` skips the Redis Cluster runs                 1
``IOC_BENCH_PROFILE``          ``0``: no py-spy profile of the first worker run   1
``IOC_BENCH_SECTIONS``         subset: kpi,throughput,replay,freshness,scrape,    all
                               backfill
``IOC_BENCH_OUT``              report file                                        docs/...
=============================  =================================================  =========
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

from ioc_monitor.config import KafkaSettings, RedisSettings, load
from ioc_monitor.errors import IocError
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.registry import load_registry
from services.bench.consumers import run_batch_producer, run_ceiling, run_naive, run_processor
from services.bench.env import (
    IOC,
    RedisCluster3,
    RedisServer,
    count_lines,
    delete_topics,
    ensure_kafka,
    log_tag,
    machine_info,
    sim_log,
    topic_size,
    versions,
)
from services.bench.profile import parse_collapsed, shares
from services.bench.report import Figure, Goal, Section, format_value, render, table
from services.bench.state import (
    TEMPLATE_UNIT,
    UNIT_KEYS,
    clone_units,
    memory_breakdown,
    registry_yaml,
    scrape_parts,
    template_log,
    unit_ids,
    write_log,
)
from services.bench.workers import (
    Exporter,
    Stack,
    WorkerRun,
    cheap_count,
    py_spy,
    run_floor,
    run_workers,
    samples,
    spawn,
)
from services.publisher import ensure_topic
from services.replay import produce

__all__ = ["BenchConfig", "main"]

_SECTIONS: Final = ("kpi", "throughput", "replay", "freshness", "scrape", "backfill")
_MIB: Final = 1024 * 1024


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


@dataclass(frozen=True)
class BenchConfig:
    """The bench's settings, read from ``IOC_BENCH_*`` (see the module docstring)."""

    quick: bool
    runs: int
    days: int
    naive_events: int
    backfill: bool
    backfill_days: int
    freshness_s: int
    freshness_rate: int
    scrape_units: tuple[int, ...]
    cluster: bool
    profile: bool
    partitions: int
    sections: tuple[str, ...]
    out: Path
    cache: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> BenchConfig:
        """Read the settings from the environment (or the given mapping)."""
        env = dict(os.environ if environ is None else environ)
        saved = os.environ.copy()
        os.environ.clear()
        os.environ.update(env)
        try:
            quick = env.get("IOC_BENCH_QUICK", "0") not in ("", "0", "false", "no")
            runs = _env_int("IOC_BENCH_RUNS", 1 if quick else 3)
            sections = tuple(
                s.strip()
                for s in env.get("IOC_BENCH_SECTIONS", ",".join(_SECTIONS)).split(",")
                if s.strip()
            )
            unknown = [s for s in sections if s not in _SECTIONS]
            if runs < 1 or unknown:
                raise ValueError(f"IOC_BENCH_RUNS must be >= 1; unknown sections: {unknown}")
            default_out = ".stack/bench/benchmarks-quick.md" if quick else "docs/benchmarks.md"
            stack_dir = Path(env.get("IOC_STACK_DIR", ".stack"))
            return cls(
                quick=quick,
                runs=runs,
                days=_env_int("IOC_BENCH_DAYS", 5 if quick else 70),
                naive_events=_env_int("IOC_BENCH_NAIVE_EVENTS", 10_000 if quick else 100_000),
                backfill=env.get("IOC_BENCH_BACKFILL", "0" if quick else "1") not in ("", "0"),
                backfill_days=_env_int("IOC_BENCH_BACKFILL_DAYS", 365),
                freshness_s=_env_int("IOC_BENCH_FRESHNESS_S", 10 if quick else 60),
                freshness_rate=_env_int("IOC_BENCH_FRESHNESS_RATE", 1000),
                scrape_units=tuple(
                    int(x) for x in env.get("IOC_BENCH_SCRAPE_UNITS", "55,1000,3321").split(",")
                ),
                cluster=env.get("IOC_BENCH_CLUSTER", "1") not in ("", "0"),
                profile=env.get("IOC_BENCH_PROFILE", "1") not in ("", "0"),
                partitions=_env_int("IOC_BENCH_PARTITIONS", 6),
                sections=sections,
                out=Path(env.get("IOC_BENCH_OUT", default_out)),
                cache=stack_dir / "bench",
            )
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _mib(kib: float) -> float:
    return kib / 1024


def _fill_topic(log: Path, n: int, partitions: int) -> str:
    """A topic holding exactly the log's messages (reused across bench invocations)."""
    topic = f"ioc-bench-{log.stem}-{log_tag(log)}-p{partitions}"
    size = topic_size(topic)
    if size == n:
        return topic
    if size is not None:
        delete_topics([topic])
        time.sleep(2.0)
    _say(f"filling {topic} with {n:,} messages (once; cached in Kafka)")
    subprocess.run(
        [*IOC, "replay", str(log), "--max", "--topic", topic, "--partitions", str(partitions),
         "--no-progress"],
        check=True,
    )  # fmt: skip
    size = topic_size(topic)
    if size != n:
        raise RuntimeError(f"bench: topic {topic} holds {size} messages, expected {n}")
    return topic


@dataclass
class _Kpi:
    wall: Figure
    rss: Figure
    expected: list[str]


def _run_kpi(log: Path, runs: int, label: str) -> _Kpi:
    wall = Figure(f"`ioc kpi` on {label}: wall time", "s", goal=Goal("<=", 60.0))
    rss = Figure(f"`ioc kpi` on {label}: peak RSS", "MiB")
    expected: list[str] = []
    for i in range(runs):
        _say(f"ioc kpi run {i + 1}/{runs}")
        out_path = log.with_suffix(".kpi.prom")
        with out_path.open("wb") as out:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [*IOC, "kpi", str(log), "--format", "prometheus", "--clock", "event"], stdout=out
            )
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError("bench: ioc kpi failed")
        wall.values.append(seconds)
        rss.values.append(usage.ru_maxrss / 1024)
        expected = samples(out_path.read_text(encoding="utf-8"))
    return _Kpi(wall, rss, expected)


def _equal_note(runs: list[WorkerRun]) -> str:
    checked = [r for r in runs if r.equal is not None]
    notes = []
    if checked:
        ok = sum(1 for r in checked if r.equal)
        notes.append(f"= `ioc kpi` in {ok}/{len(checked)} runs")
    restarts = sum(r.restarts for r in runs)
    if restarts:
        notes.append(f"{restarts} worker crash(es) restarted (see Findings)")
    return "; ".join(notes)


class _Throughput:
    """Section 1 (and 7: scale-out) figures, filled run by run."""

    def __init__(self, n: int, naive_n: int, cluster: bool) -> None:
        self.n = n
        self.ours = Figure("ours: `ioc worker` (1 process)", "events/s", goal=Goal(">=", 20_000))
        self.ceiling = Figure("ceiling: bare aiokafka + orjson", "events/s")
        self.naive = Figure(
            f"naive peer: one awaited Redis command at a time (first {naive_n:,} events)",
            "events/s",
        )
        self.floor = Figure("Faust floor: `ioc worker` with a no-op processor", "events/s")
        self.processor = Figure("our processor on bare aiokafka (no Faust)", "events/s")
        self.of_ceiling = Figure("ours / ceiling", "%", goal=Goal(">=", 50.0))
        self.of_naive = Figure("ours / naive", "x", goal=Goal(">=", 10.0))
        self.of_floor = Figure("ours / Faust floor", "%")
        self.cpu = Figure("worker CPU per 1,000,000 events", "s")
        self.hwm = Figure("worker peak RSS (VmHWM)", "MiB")
        self.two = Figure("2 workers, standalone Redis", "events/s")
        self.two_ratio = Figure("2 workers / 1 worker, standalone Redis", "x")
        self.c1 = Figure("1 worker, 3-node Redis Cluster", "events/s")
        self.c2 = Figure("2 workers, 3-node Redis Cluster", "events/s")
        self.c_ratio = Figure("2 workers / 1 worker, Redis Cluster", "x")
        self.ours_runs: list[WorkerRun] = []
        self.two_runs: list[WorkerRun] = []
        self.c1_runs: list[WorkerRun] = []
        self.c2_runs: list[WorkerRun] = []
        self.cluster = cluster
        self.failures: list[str] = []


def _scale_run(tp: _Throughput, measure: Callable[[], WorkerRun]) -> WorkerRun | None:
    """A scale-out measurement; a run that cannot finish is recorded as failed, not fatal."""
    try:
        return measure()
    except IocError as exc:
        _say(f"  failed: {exc}")
        tp.failures.append(str(exc))
        return None


@dataclass
class _Memory:
    used_delta: int
    breakdown: dict[str, dict[str, int]]
    units: int
    n: int


def _run_throughput(
    cfg: BenchConfig,
    topic: str,
    n: int,
    server: RedisServer,
    cluster: RedisCluster3 | None,
    expected: list[str] | None,
    tp: _Throughput,
) -> _Memory | None:
    units = load_registry(None).ids
    stack = Stack(server.url, False, cfg.cache / "run")
    client = server.client()
    memory: _Memory | None = None
    naive_n = min(cfg.naive_events, n)
    stamp = f"{int(time.time()) % 100000:05d}"
    for i in range(cfg.runs):
        tag = f"b{stamp}r{i}"
        _say(f"throughput run {i + 1}/{cfg.runs}: ceiling")
        ceiling = run_ceiling(topic, n, f"{tag}-ceiling")
        _say(f"throughput run {i + 1}/{cfg.runs}: naive peer ({naive_n:,} events)")
        client.flushall()
        naive = run_naive(topic, naive_n, f"{tag}-naive", server.url, f"{tag}n", units)
        _say(f"throughput run {i + 1}/{cfg.runs}: Faust floor")
        floor = run_floor(stack, topic, n, f"{tag}f")
        _say(f"throughput run {i + 1}/{cfg.runs}: our processor on aiokafka")
        client.flushall()
        settings = RedisSettings(url=server.url, prefix=f"{tag}p")
        proc = run_processor(topic, n, f"{tag}-proc", settings, units)
        _say(f"throughput run {i + 1}/{cfg.runs}: ioc worker")
        client.flushall()
        before = int(client.info("memory")["used_memory"])
        profile = cfg.cache / "profile-worker.raw" if cfg.profile and i == 0 else None
        if profile is not None:
            profile.unlink(missing_ok=True)
        ours = run_workers(stack, topic, n, f"{tag}w", expected=expected, profile=profile)
        if ours.counted != n:
            raise RuntimeError(f"bench: worker counted {ours.counted} of {n}")
        if memory is None:
            after = int(client.info("memory")["used_memory"])
            breakdown = memory_breakdown(client, f"{tag}w")
            parts = client.smembers(global_key(f"{tag}w", "parts"))
            unit_sets = [client.smembers(PartitionKeys(f"{tag}w", int(p)).units) for p in parts]
            n_units = len(set().union(*unit_sets))
            memory = _Memory(after - before, breakdown, n_units, n)
        rate = n / ours.seconds
        tp.ours_runs.append(ours)
        tp.ours.values.append(rate)
        tp.ceiling.values.append(ceiling.rate)
        tp.naive.values.append(naive.rate)
        tp.floor.values.append(n / floor)
        tp.processor.values.append(proc.rate)
        tp.of_ceiling.values.append(100 * rate / ceiling.rate)
        tp.of_naive.values.append(rate / naive.rate)
        tp.of_floor.values.append(100 * rate * floor / n)
        tp.cpu.values.append(sum(ours.cpu_s) * 1_000_000 / n)
        tp.hwm.values.append(_mib(max(ours.hwm_kib)))
        _say(f"  ours {rate:,.0f}/s, ceiling {ceiling.rate:,.0f}/s, naive {naive.rate:,.0f}/s")
        _say(f"throughput run {i + 1}/{cfg.runs}: 2 workers, standalone")
        client.flushall()
        two = _scale_run(
            tp, partial(run_workers, stack, topic, n, f"{tag}s2", workers=2, expected=expected)
        )
        if two is not None:
            tp.two_runs.append(two)
            tp.two.values.append(n / two.seconds)
            tp.two_ratio.values.append((n / two.seconds) / rate)
        if cluster is not None:
            cstack = Stack(cluster.url, True, cfg.cache / "run")
            _say(f"throughput run {i + 1}/{cfg.runs}: 1 worker, Redis Cluster")
            cluster.flushall()
            c1 = _scale_run(
                tp, partial(run_workers, cstack, topic, n, f"{tag}c1", expected=expected)
            )
            _say(f"throughput run {i + 1}/{cfg.runs}: 2 workers, Redis Cluster")
            cluster.flushall()
            c2 = _scale_run(
                tp,
                partial(run_workers, cstack, topic, n, f"{tag}c2", workers=2, expected=expected),
            )
            if c1 is not None:
                tp.c1_runs.append(c1)
                tp.c1.values.append(n / c1.seconds)
            if c2 is not None:
                tp.c2_runs.append(c2)
                tp.c2.values.append(n / c2.seconds)
            if c1 is not None and c2 is not None:
                tp.c_ratio.values.append(c1.seconds / c2.seconds)
    client.flushall()
    client.close()
    tp.ours.note = _equal_note(tp.ours_runs)
    tp.two.note = _equal_note(tp.two_runs)
    tp.c1.note = _equal_note(tp.c1_runs)
    tp.c2.note = _equal_note(tp.c2_runs)
    return memory


_RATE = re.compile(r"sent (\d+), failed (\d+) in ([0-9.]+) s")


def _run_replay(cfg: BenchConfig, log: Path, n: int) -> list[Figure]:
    fig = Figure("`ioc replay --max` (1 process)", "events/s", goal=Goal(">=", 50_000))
    batch = Figure("aiokafka batch producer, same log (reference)", "events/s")
    ratio = Figure("`ioc replay` / batch producer", "%")
    stamp = f"{int(time.time()) % 100000:05d}"
    lines = [line.rstrip(b"\r\n") for line in log.open("rb") if line.strip()]
    kafka = load(KafkaSettings)
    for i in range(cfg.runs):
        topic = f"ioc-bench-replay-{stamp}-{i}"
        _say(f"replay run {i + 1}/{cfg.runs} into {topic}")
        out = subprocess.run(
            [*IOC, "replay", str(log), "--max", "--topic", topic,
             "--partitions", str(cfg.partitions), "--no-progress"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        m = _RATE.search(out.stderr)
        if m is None or int(m.group(1)) != n or int(m.group(2)) != 0:
            raise RuntimeError(f"bench: unexpected replay summary: {out.stderr.strip()}")
        fig.values.append(n / float(m.group(3)))
        delete_topics([topic])
        ensure_topic(kafka, f"{topic}-b", cfg.partitions)
        ref = run_batch_producer(lines, f"{topic}-b")
        delete_topics([f"{topic}-b"])
        batch.values.append(ref.rate)
        ratio.values.append(100 * fig.values[-1] / ref.rate)
    return [fig, batch, ratio]


def _processed(body: bytes) -> int:
    for line in body.decode().splitlines():
        if line.startswith("ioc_events_processed_total "):
            return int(float(line.split()[1]))
    return 0


@dataclass
class _Freshness:
    p50: Figure
    p99: Figure
    worst: Figure
    resolution: Figure


def _timed_lines(lines: list[bytes], sent: list[float]) -> Iterator[bytes]:
    for line in lines:
        sent.append(time.monotonic())
        yield line


def _run_freshness(cfg: BenchConfig, log: Path, server: RedisServer) -> _Freshness:
    res = _Freshness(
        Figure("event → exported, p50", "ms"),
        Figure("event → exported, p99", "ms", goal=Goal("<=", 1000.0)),
        Figure("event → exported, max", "ms"),
        Figure("time between two scrapes (resolution)", "ms"),
    )
    warm = 200
    total = cfg.freshness_s * cfg.freshness_rate
    lines: list[bytes] = []
    with log.open("rb") as fh:
        for line in fh:
            if line.strip():
                lines.append(line.rstrip(b"\r\n"))
            if len(lines) >= warm + total:
                break
    kafka = load(KafkaSettings)
    stack = Stack(server.url, False, cfg.cache / "run")
    client = server.client()
    stamp = f"{int(time.time()) % 100000:05d}"
    for i in range(cfg.runs):
        topic = f"ioc-bench-fresh-{stamp}-{i}"
        prefix = f"f{stamp}r{i}"
        _say(f"freshness run {i + 1}/{cfg.runs}: {total:,} events at {cfg.freshness_rate}/s")
        client.flushall()
        ensure_topic(kafka, topic, cfg.partitions)
        worker = spawn([*IOC, "worker"], stack.env(topic, prefix), stack.workdir, f"{prefix}.log")
        try:
            with Exporter(stack, prefix, "wall") as exporter:
                produce(lines[:warm], kafka, topic=topic, progress=False)
                deadline = time.monotonic() + 120
                while cheap_count(client, prefix) < warm:
                    if time.monotonic() > deadline:
                        raise RuntimeError("bench: the worker did not start consuming")
                    time.sleep(0.05)
                sent: list[float] = []
                producer = threading.Thread(
                    target=produce,
                    args=(_timed_lines(lines[warm : warm + total], sent), kafka),
                    kwargs={"rate": cfg.freshness_rate, "topic": topic, "progress": False},
                )
                latencies: list[float] = []
                gaps: list[float] = []
                seen = 0
                last = time.monotonic()
                producer.start()
                deadline = time.monotonic() + cfg.freshness_s + 120
                while seen < total and time.monotonic() < deadline:
                    body = exporter.scrape()
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now
                    shown = min(_processed(body) - warm, len(sent))
                    while seen < shown:
                        latencies.append(now - sent[seen])
                        seen += 1
                    time.sleep(0.01)
                producer.join()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        delete_topics([topic, f"{topic}.dlq"])
        if seen < total:
            raise RuntimeError(f"bench: only {seen} of {total} events reached the exporter")
        latencies.sort()
        res.p50.values.append(1000 * latencies[len(latencies) // 2])
        res.p99.values.append(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))])
        res.worst.values.append(1000 * latencies[-1])
        gaps.sort()
        res.resolution.values.append(1000 * gaps[len(gaps) // 2])
    client.flushall()
    client.close()
    return res


@dataclass
class _Scrape:
    figures: list[Figure]
    unit_bytes: int
    used_memory: dict[int, int]


def _run_scrape(cfg: BenchConfig, server: RedisServer) -> _Scrape:
    client = server.client()
    client.flushall()
    cache = cfg.cache
    template = template_log(cache)
    prefix = "scrape"
    reg1 = cache / "registry-1.yaml"
    reg1.write_text(registry_yaml(1), encoding="utf-8")
    _say(f"scrape: writing the template unit's year through the worker's processor ({template})")
    write_log(RedisSettings(url=server.url, prefix=prefix), template, reg1, cfg.partitions)
    per_unit = memory_breakdown(client, prefix)
    unit_bytes = sum(v["bytes"] for k, v in per_unit.items() if k in UNIT_KEYS)
    figures: list[Figure] = []
    used: dict[int, int] = {}
    have = 1
    stack = Stack(server.url, False, cfg.cache / "run")
    for count in sorted(cfg.scrape_units):
        ids = unit_ids(count)
        _say(f"scrape: {count:,} units")
        clone_units(client, prefix, TEMPLATE_UNIT, ids[have:])
        have = max(have, count)
        used[count] = int(client.info("memory")["used_memory"])
        reg = cache / f"registry-{count}.yaml"
        reg.write_text(registry_yaml(count), encoding="utf-8")
        t = Figure(f"GET /metrics, {count:,} units", "ms")
        if count == 1000:
            t.goal = Goal("<=", 500.0)
        size = Figure(f"/metrics size, {count:,} units", "KiB")
        lines = Figure(f"/metrics samples, {count:,} units", "count")
        with Exporter(stack, prefix, "event", units=reg) as exporter:
            body = exporter.scrape()  # warm-up (imports, connections)
            for _ in range(max(cfg.runs, 3)):
                start = time.perf_counter()
                body = exporter.scrape()
                t.values.append(1000 * (time.perf_counter() - start))
                size.values.append(len(body) / 1024)
                lines.values.append(
                    sum(1 for x in body.splitlines() if x and not x.startswith(b"#"))
                )
        figures += [t, size, lines]
        if count == 1000:
            read = Figure("of which read_snapshot (Redis, merge, windows), 1,000 units", "ms")
            expo = Figure("of which families + text exposition, 1,000 units", "ms")
            for _ in range(max(cfg.runs, 3)):
                r, e = scrape_parts(client, prefix, reg)
                read.values.append(1000 * r)
                expo.values.append(1000 * e)
            figures += [read, expo]
    client.flushall()
    client.close()
    return _Scrape(figures, unit_bytes, used)


def _run_backfill(
    cfg: BenchConfig, server: RedisServer, on_run: Callable[[list[Figure], int], None]
) -> None:
    log = sim_log(cfg.cache, cfg.backfill_days)
    n = count_lines(log)
    topic = _fill_topic(log, n, cfg.partitions)
    seconds = Figure(
        f"backfill of {n:,} events ({cfg.backfill_days} days), 1 worker, empty Redis",
        "s",
        goal=Goal("<=", 300.0),
    )
    rate = Figure("backfill rate", "events/s")
    seconds2 = Figure(
        f"backfill of {n:,} events ({cfg.backfill_days} days), 2 workers (one per core), "
        "empty Redis",
        "s",
        goal=Goal("<=", 300.0),
    )
    hwm = Figure("backfill worker peak RSS (VmHWM)", "MiB")
    used = Figure("Redis used_memory after the backfill", "MiB")
    stack = Stack(server.url, False, cfg.cache / "run")
    client = server.client()
    stamp = f"{int(time.time()) % 100000:05d}"
    for i in range(cfg.runs):
        _say(f"backfill run {i + 1}/{cfg.runs}: {n:,} events")
        client.flushall()
        before = int(client.info("memory")["used_memory"])
        run = run_workers(stack, topic, n, f"y{stamp}r{i}", timeout=7200)
        if run.counted != n:
            raise RuntimeError(f"bench: backfill counted {run.counted} of {n}")
        seconds.values.append(run.seconds)
        rate.values.append(n / run.seconds)
        hwm.values.append(_mib(max(run.hwm_kib)))
        used.values.append((int(client.info("memory")["used_memory"]) - before) / _MIB)
        client.flushall()
        run2 = run_workers(stack, topic, n, f"y{stamp}r{i}w2", workers=2, timeout=7200)
        if run2.counted != n:
            raise RuntimeError(f"bench: 2-worker backfill counted {run2.counted} of {n}")
        seconds2.values.append(run2.seconds)
        on_run([seconds, seconds2, rate, hwm, used], n)
    client.flushall()
    client.close()


def _memory_section(mem: _Memory | None, scrape: _Scrape | None, tp: _Throughput | None) -> Section:
    section = Section(
        "5. Memory",
        """
Redis: `INFO memory` `used_memory` before and after the first throughput run (the
bench's private Redis, emptied before), and `MEMORY USAGE <key> SAMPLES 0` of every key
of that run, grouped by key kind (see `ioc_monitor/redis_keys.py`). An *open dossier*
costs its state in the `dos` hash plus its member of the unit's `open` zset; a
*unit's window state* is all its bucket keys (`tot`, the minute/hour/day/month shards
`m`/`h`/`d`/`mo`, their indexes `mi`/`hi`/`di`/`moi`, recent items `rc`), which serve
all eight windows. The
per-unit figure at steady state comes from the scrape benchmark's template unit: a
full simulated year (400 days) of one commune-level unit. Worker RSS is `VmHWM` from
`/proc/<pid>/status` just before the worker is stopped.
""",
    )
    if tp is not None:
        section.figures.append(tp.hwm)
    if mem is not None:
        b = mem.breakdown

        def get(kind: str, what: str) -> int:
            return b.get(kind, {}).get(what, 0)

        dos_each = get("dos", "bytes") / max(get("dos", "elements"), 1)
        open_each = get("open", "bytes") / max(get("open", "elements"), 1)
        eid_each = get("eid", "bytes") / max(get("eid", "elements"), 1)
        bucket_kinds = tuple(k for k in UNIT_KEYS if k != "open")
        unit_total = sum(get(k, "bytes") for k in bucket_kinds)
        section.figures += [
            Figure("Redis used_memory growth, whole throughput log", "MiB",
                   [mem.used_delta / _MIB], note=f"{mem.n:,} events"),
            Figure("Redis per open dossier (state + open index)", "bytes",
                   [dos_each + open_each], note=f"{get('open', 'elements'):,} open"),
            Figure("Redis per dossier state (open or completed)", "bytes", [dos_each],
                   note=f"{get('dos', 'elements'):,} dossiers"),
            Figure("Redis per accepted event id (35-day de-dup horizon)", "bytes", [eid_each],
                   note=f"{get('eid', 'elements'):,} ids"),
            Figure("Redis per unit, window state after the throughput log", "KiB",
                   [unit_total / 1024 / max(mem.units, 1)], note=f"{mem.units} units"),
        ]  # fmt: skip
        rows = [
            "| key kind | keys | elements | bytes | bytes/element |",
            "|---|---:|---:|---:|---:|",
        ]
        for kind, v in sorted(b.items(), key=lambda kv: -kv[1]["bytes"]):
            per = v["bytes"] / v["elements"] if v["elements"] else 0
            rows.append(
                f"| `{kind}` | {v['keys']:,} | {v['elements']:,} | {v['bytes']:,} | {per:,.0f} |"
            )
        section.extra = "Breakdown after the throughput log:\n\n" + "\n".join(rows)
    if scrape is not None:
        section.figures.append(
            Figure("Redis per unit, window state of a full year (commune volume)", "KiB",
                   [scrape.unit_bytes / 1024], note="template unit, 6 partitions")
        )  # fmt: skip
        for count, used in sorted(scrape.used_memory.items()):
            section.figures.append(
                Figure(f"Redis used_memory, {count:,} units × a year", "MiB", [used / _MIB])
            )
    return section


def _write_report(
    cfg: BenchConfig, sections: list[Section], extra_settings: dict[str, str]
) -> None:
    intro = f"""
Written by `make bench` (`python -m services.bench.run`) on {time.strftime("%Y-%m-%d %H:%M %Z")}{
        " (**quick smoke size — not the reference figures**)" if cfg.quick else ""
    }.
Each figure is the **median** of {cfg.runs} run(s) with the **spread (min – max)**; a
ratio is computed inside each run from figures measured one after the other on the same
Kafka topic and machine, then summarised like the others. The machine has other users
(other engineers' test suites); the load average is recorded below.
"""
    settings = {
        "runs per figure": str(cfg.runs),
        "throughput log": f"`ioc simulate --days {cfg.days}` (seed 1)",
        "partitions": str(cfg.partitions),
        "naive peer events per run": f"{cfg.naive_events:,}",
        "freshness": f"{cfg.freshness_s} s at {cfg.freshness_rate} events/s",
        "Redis": "private `redis-server` started by the bench (AOF everysec, like the stack)",
        **extra_settings,
    }

    def order(section: Section) -> tuple[int, str]:
        m = re.match(r"(\d+)(\w?)\.", section.title)
        return (int(m.group(1)), m.group(2)) if m else (99, section.title)

    text = render(
        title="Benchmarks",
        intro=intro,
        machine=machine_info(),
        versions=versions(),
        settings=settings,
        sections=sorted(sections, key=order),
    )
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(text, encoding="utf-8")
    _say(f"wrote {cfg.out}")


def run(cfg: BenchConfig) -> list[Section]:
    """Run the selected sections and write the report.

    Args:
        cfg: Settings.

    Returns:
        The sections written.
    """
    want: Callable[[str], bool] = lambda name: name in cfg.sections  # noqa: E731
    ensure_kafka()
    cfg.cache.mkdir(parents=True, exist_ok=True)
    log = sim_log(cfg.cache, cfg.days)
    n = count_lines(log)
    label = f"{n:,} events"
    sections: list[Section] = []
    load1, load5, load15 = os.getloadavg()
    extra: dict[str, str] = {
        "throughput log size": label,
        "load average at the start (1, 5, 15 min)": f"{load1:.2f}, {load5:.2f}, {load15:.2f}",
    }
    kpi: _Kpi | None = None
    tp: _Throughput | None = None
    mem: _Memory | None = None
    scrape: _Scrape | None = None

    def add(section: Section) -> None:  # the report is rewritten after each section
        sections.append(section)
        _write_report(cfg, sections, extra)

    with RedisServer(cfg.cache / "redis") as server:
        if want("kpi") or want("throughput"):
            kpi = _run_kpi(log, cfg.runs, label)
            add(_kpi_section(kpi, label))
        if want("throughput"):
            topic = _fill_topic(log, n, cfg.partitions)
            extra["throughput topic"] = f"`{topic}`"
            tp = _Throughput(n, min(cfg.naive_events, n), cfg.cluster)
            expected = kpi.expected if kpi else None
            if cfg.cluster:
                with RedisCluster3(cfg.cache.parent / "redis-cluster") as cluster:
                    mem = _run_throughput(cfg, topic, n, server, cluster, expected, tp)
            else:
                mem = _run_throughput(cfg, topic, n, server, None, expected, tp)
            add(_throughput_section(tp, label))
            if cfg.profile:
                add(_profile_section(cfg))
        if want("replay"):
            add(
                Section(
                    "2. Replay producer rate",
                    f"""
`ioc replay LOG --max --partitions {cfg.partitions} --topic <fresh topic>` on the
throughput log ({label}): the rate `ioc replay` reports (first send to the end of the
final flush; every message confirmed by the broker, `acks=all`, idempotent producer),
beside, in the same run, aiokafka's batch API sending the same lines, keyed the same
way, to another fresh topic (`services/bench_consumers.py`).
""",
                    _run_replay(cfg, log, n),
                )
            )
        if want("freshness"):
            add(_freshness_section(cfg, _run_freshness(cfg, log, server)))
        if want("scrape"):
            scrape = _run_scrape(cfg, server)
            add(_scrape_section(scrape))
        if want("throughput") or want("scrape"):
            add(_memory_section(mem, scrape, tp))
        if want("backfill") and cfg.backfill:

            def backfilled(figs: list[Figure], bn: int) -> None:  # after each run
                sections[:] = [x for x in sections if not x.title.startswith("6.")]
                add(
                    Section(
                        "6. Backfill",
                        f"""
One simulated year of the province (`ioc simulate --days {cfg.backfill_days}`,
{bn:,} events) already in a {cfg.partitions}-partition topic; one `ioc worker` from an
empty Redis, timed from its start until the Redis counters reach {bn:,}; then, in the
same run, the same with two `ioc worker` processes of one group (one per core of this
machine), from an empty Redis again.
""",
                        figs,
                    )
                )

            _run_backfill(cfg, server, backfilled)
        elif want("backfill"):
            add(Section("6. Backfill", "Skipped (quick mode or `IOC_BENCH_BACKFILL=0`)."))
    _write_report(cfg, sections, extra)
    return sections


def _kpi_section(kpi: _Kpi, label: str) -> Section:
    return Section(
        "8. Offline: `ioc kpi`",
        f"""
`ioc kpi LOG --format prometheus --clock event` on the throughput log ({label}): wall
time of the process and its peak RSS (`ru_maxrss` from `wait4`).
""",
        [kpi.wall, kpi.rss],
    )


def _profile_section(cfg: BenchConfig) -> Section:
    raw = cfg.cache / "profile-worker.raw"
    method = """
Where the worker's CPU goes: `py-spy record --format raw --rate 200` attached to the
first throughput run's `ioc worker` from 5 s after its start for up to 60 s (only
on-CPU samples), each sample put in the first category whose marker is on its stack
(`services/bench_profile.py`). "ours" is everything under `BatchProcessor.process`;
the Faust rows are the framework's per-message path (the consumer's fetch loop hands
each message to the conductor, which decodes and queues it as an event; the agent's
stream takes and acknowledges them). The worker runs on uvloop with
`streams.fast_consumer.IocConsumer`, which hands a message off inline instead of
Faust's four-task race per message and does not sleep a whole second when every
partition's stream buffer is full: together they took the Faust floor from about
14,000 to 32,000–35,000 messages/s on this machine (it varies between runs; see the table).
"""
    if py_spy() is None or not raw.exists():
        return Section("1b. Profile of the worker", method + "\nSkipped: py-spy is not installed.")
    stacks = parse_collapsed(raw.read_text(encoding="utf-8").splitlines())
    rows = ["| category | share of worker CPU samples |", "|---|---:|"]
    rows += [f"| {name} | {pct:.1f} % |" for name, pct in shares(stacks).items()]
    rows.append(f"| (samples) | {sum(stacks.values()):,} |")
    return Section("1b. Profile of the worker", method, extra="\n".join(rows))


def _throughput_section(tp: _Throughput, label: str) -> Section:
    method = f"""
Kafka → worker → Redis for a simulated log already in the topic ({label}, 6
partitions). In each run, one after the other on the same topic, each with a consumer
group of its own:

- **ceiling**: a bare aiokafka consumer that only reads and JSON-decodes (orjson)
  every message;
- **naive peer**: an aiokafka loop doing, per message, the same parse and KPI rules
  with one awaited redis-py asyncio command at a time (de-dup lookup, dossier read,
  dossier write, event id, four counters per counted item, open index, processed
  counter) — see `services/bench_consumers.py`. It is measured on the first events
  only (its rate is steady; the full log would take too long);
- **Faust floor**: the real `ioc worker` with its batch processor replaced by a
  counter (`services/bench_faust_floor.py`): the most any processing behind this Faust
  agent can reach here;
- **our processor on bare aiokafka**: the worker's own `BatchProcessor` (prepare, one
  Lua commit per partition batch) fed by a plain aiokafka consumer: our code without
  the framework;
- **ours**: the real `ioc worker` (a subprocess), timed from its spawn until the Redis
  counters (processed + rejected + duplicate) reach the number of messages; the final
  count is checked with `read_snapshot`, and the exporter's samples (`--clock event`)
  are compared with `ioc kpi --format prometheus` on the same log.

All runs include start-up and consumer-group join. Scale-out (section 7) runs in the
same loop: two worker processes of one group on the 6 partitions, and the same against
a local 3-node Redis Cluster (`IOC_REDIS_CLUSTER=1`).
"""
    sec = Section(
        "1. End-to-end throughput",
        method,
        [
            tp.ours,
            tp.ceiling,
            tp.naive,
            tp.floor,
            tp.processor,
            tp.of_ceiling,
            tp.of_naive,
            tp.of_floor,
            tp.cpu,
        ],
    )
    scale = [tp.two, tp.two_ratio]
    if tp.cluster:
        scale += [tp.c1, tp.c2, tp.c_ratio]
    diffs = [d for r in tp.ours_runs + tp.two_runs + tp.c1_runs + tp.c2_runs for d in r.diff]
    extra = "### 7. Scale-out\n\n" + "\n".join(table(scale))
    if diffs:
        extra += (
            "\n\nDifferences from `ioc kpi` (first lines):\n\n```\n" + "\n".join(diffs) + "\n```"
        )
    restarts = sum(r.restarts for r in tp.ours_runs + tp.two_runs + tp.c1_runs + tp.c2_runs)
    if tp.failures:
        extra += (
            f"\n\n**Failed scale-out runs: {len(tp.failures)}** (left out of the figures "
            "above): " + "; ".join(tp.failures)
        )
    if restarts or tp.failures:
        extra += f"""

**Findings.** {restarts} worker process(es) exited during these runs and were started
again by the bench, as a supervisor (docker-compose `restart:`) would; the exactly-once
state in Redis makes a restart lossless, and the results above still equal `ioc kpi`.
See the workers' logs under `.stack/bench/run/`: the crash seen while writing this
harness was a `KeyError` in aiokafka's `Fetcher.fetched_records` during a rebalance
of two workers (the Faust/aiokafka race reported as robinhood/aiokafka#19)."""
    sec.extra = extra
    return sec


def _freshness_section(cfg: BenchConfig, fr: _Freshness) -> Section:
    return Section(
        "3. Freshness",
        f"""
A steady {cfg.freshness_rate} events/s for {cfg.freshness_s} s (the throughput log's
first events, through the same producer as `ioc replay --rate`) into a fresh
{cfg.partitions}-partition topic, with one `ioc worker` and one `ioc exporter` running.
The bench scrapes `/metrics` back to back; when a scrape that *returned* at time *s*
shows `ioc_events_processed_total` ≥ *i*, the *i*-th event counts as exported, with
latency *s* − (time it was handed to the producer). The latency thus includes the
producer's linger (20 ms), the worker's batching (≤ 0.2 s), the Redis commit and one
scrape; it is an upper bound within the scrape resolution shown.
""",
        [fr.p50, fr.p99, fr.worst, fr.resolution],
    )


def _scrape_section(sc: _Scrape) -> Section:
    return Section(
        "4. Scrape time and size",
        """
The real `ioc exporter --clock event` over HTTP, against synthetic registries of N
commune-level units whose Redis state is a full simulated year per unit (see
`services/bench_state.py`: one unit simulated for 400 days at commune volume, written
through the worker's `BatchProcessor` into 6 partitions, its keys copied to every other
unit). Wall time of `GET /metrics` (one warm-up scrape first), body size and number of
samples. At 1,000 units the two halves of a scrape are also timed in the bench's own
process: `read_snapshot` (the read scripts, merging 6 partitions, window sums) and
rendering the families plus prometheus-client's `generate_latest`.
""",
        sc.figures,
    )


def main() -> int:
    """Entry point of ``python -m services.bench.run``."""
    cfg = BenchConfig.from_env()
    _say(f"settings: {cfg}")
    started = time.monotonic()
    run(cfg)
    _say(f"done in {format_value(time.monotonic() - started, 's')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
