"""Sections 1 and 7 of ``make bench``: end-to-end throughput, its references, scale-out.

In each run, one after the other on the same topic: the ceiling (bare aiokafka + orjson),
the naive peer, the Faust floor, our processor on bare aiokafka, the real ``ioc worker``,
then two workers against the standalone Redis and one and two workers against a 3-node
Redis Cluster. The first worker run also yields the Redis memory figures (section 5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ioc_monitor.config import RedisSettings
from ioc_monitor.errors import IocError
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.registry import load_registry
from services.bench.config import BenchConfig
from services.bench.consumers import run_ceiling, run_naive, run_processor
from services.bench.env import say
from services.bench.inputs import run_stamp
from services.bench.report import Figure, Goal, mib
from services.bench.state import memory_breakdown
from services.bench.workers import Stack, WorkerRun, run_floor, run_workers
from services.harness import RedisCluster3, RedisServer

__all__ = ["Memory", "Throughput", "floor_note", "run_throughput"]


REFERENCE_FLOOR = 32_386
"""Faust floor of the issue's reference run, events/s, from which its ~25,000/s goal comes."""


def floor_note(floor: float | None) -> str:
    """What 70 % of this run's Faust floor is, beside the absolute goal set on the reference one.

    Args:
        floor: Median Faust floor of this run, events/s; None when it was not measured.

    Returns:
        A short note, empty without a floor.
    """
    if floor is None:
        return ""
    return (
        f"the goal comes from the reference floor {REFERENCE_FLOOR:,}/s; "
        f"70 % of this run's floor = {0.7 * floor:,.0f}/s"
    )


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


class Throughput:
    """Section 1 (and 7: scale-out) figures, filled run by run.

    Args:
        n: Messages in the topic.
        naive_n: Messages the naive peer handles per run.
        cluster: The Redis Cluster runs are made.
    """

    def __init__(self, n: int, naive_n: int, cluster: bool) -> None:
        self.n = n
        self.ours = Figure(
            "ours: one `ioc worker` (with its helper process)", "events/s", goal=Goal(">=", 25_000)
        )
        self.ceiling = Figure("ceiling: bare aiokafka + orjson", "events/s")
        self.naive = Figure(
            f"naive peer: one awaited Redis command at a time (first {naive_n:,} events)",
            "events/s",
        )
        self.floor = Figure("Faust floor: `ioc worker` with a no-op processor", "events/s")
        self.processor = Figure("our processor on bare aiokafka (no Faust)", "events/s")
        self.of_ceiling = Figure("ours / ceiling", "%", goal=Goal(">=", 50.0))
        self.of_naive = Figure("ours / naive", "x", goal=Goal(">=", 10.0))
        self.of_floor = Figure("ours / Faust floor", "%", goal=Goal(">=", 70.0))
        self.cpu = Figure("worker CPU per 1,000,000 events (with its helper process)", "s")
        self.hwm = Figure("worker peak RSS (VmHWM; worker + helper)", "MiB")
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

    @property
    def worker_runs(self) -> list[WorkerRun]:
        """Every ``ioc worker`` run: one worker, then the scale-out runs."""
        return self.ours_runs + self.two_runs + self.c1_runs + self.c2_runs

    def scale(
        self, runs: list[WorkerRun], rate: Figure, measure: Callable[[], WorkerRun]
    ) -> WorkerRun | None:
        """A scale-out measurement; a run that cannot finish is recorded as failed, not fatal.

        Args:
            runs: Where the run goes.
            rate: The figure that gets its events/s.
            measure: Makes the run.

        Returns:
            The run, None when it failed.
        """
        try:
            run = measure()
        except IocError as exc:
            say(f"  failed: {exc}")
            self.failures.append(str(exc))
            return None
        runs.append(run)
        rate.values.append(self.n / run.seconds)
        return run

    def note_checks(self) -> None:
        """Note, on each worker figure, its runs' comparisons with ``ioc kpi`` and restarts."""
        self.ours.note = "; ".join(
            n for n in (_equal_note(self.ours_runs), floor_note(self.floor.median)) if n
        )
        self.two.note = _equal_note(self.two_runs)
        self.c1.note = _equal_note(self.c1_runs)
        self.c2.note = _equal_note(self.c2_runs)


@dataclass
class Memory:
    """Redis memory after the first worker run.

    Attributes:
        used_delta: Growth of ``used_memory`` (bytes).
        breakdown: :func:`~services.bench.state.memory_breakdown` of the run's prefix.
        units: Units with state.
        n: Messages of the run.
    """

    used_delta: int
    breakdown: dict[str, dict[str, int]]
    units: int
    n: int


def _used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def _memory(client: Any, prefix: str, before: int, n: int) -> Memory:
    after = _used_memory(client)
    breakdown = memory_breakdown(client, prefix)
    parts = client.smembers(global_key(prefix, "parts"))
    unit_sets = [client.smembers(PartitionKeys(prefix, int(p)).units) for p in parts]
    return Memory(after - before, breakdown, len(set().union(*unit_sets)), n)


def run_throughput(
    cfg: BenchConfig,
    topic: str,
    n: int,
    server: RedisServer,
    cluster: RedisCluster3 | None,
    expected: list[str] | None,
    tp: Throughput,
) -> Memory | None:
    """Make ``cfg.runs`` throughput runs on a filled topic, adding their figures to ``tp``.

    Args:
        cfg: Settings.
        topic: The topic, holding ``n`` messages.
        n: Its messages.
        server: The bench's private standalone Redis.
        cluster: The private Redis Cluster (None: no cluster runs).
        expected: ``ioc kpi``'s samples the exporters are compared with (None: no check).
        tp: The figures.

    Returns:
        Redis memory after the first worker run (None without runs).

    With ``cfg.profile``, one more one-worker run follows the timed runs under py-spy
    (``profile-worker.raw`` in the cache); its time is in no figure.

    Raises:
        RuntimeError: A one-worker run did not count every message.
    """
    units = load_registry(None).ids
    stack = Stack(server.url, False, cfg.workdir)
    client = server.client()
    memory: Memory | None = None
    naive_n = min(cfg.naive_events, n)
    stamp = run_stamp()
    for i in range(cfg.runs):
        tag = f"b{stamp}r{i}"
        step = f"throughput run {i + 1}/{cfg.runs}:"
        say(f"{step} ceiling")
        ceiling = run_ceiling(topic, n, f"{tag}-ceiling")
        say(f"{step} naive peer ({naive_n:,} events)")
        client.flushall()
        naive = run_naive(topic, naive_n, f"{tag}-naive", server.url, f"{tag}n", units)
        say(f"{step} Faust floor")
        floor = run_floor(stack, topic, n, f"{tag}f")
        say(f"{step} our processor on aiokafka")
        client.flushall()
        settings = RedisSettings(url=server.url, prefix=f"{tag}p")
        proc = run_processor(topic, n, f"{tag}-proc", settings, units)
        say(f"{step} ioc worker")
        client.flushall()
        before = _used_memory(client)
        ours = run_workers(stack, topic, n, f"{tag}w", expected=expected)
        if ours.counted != n:
            raise RuntimeError(f"bench: worker counted {ours.counted} of {n}")
        if memory is None:
            memory = _memory(client, f"{tag}w", before, n)
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
        tp.hwm.values.append(mib(max(ours.hwm_kib)))
        say(f"  ours {rate:,.0f}/s, ceiling {ceiling.rate:,.0f}/s, naive {naive.rate:,.0f}/s")
        say(f"{step} 2 workers, standalone")
        client.flushall()
        workers = partial(run_workers, stack, topic, n, expected=expected)
        two = tp.scale(tp.two_runs, tp.two, partial(workers, f"{tag}s2", workers=2))
        if two is not None:
            tp.two_ratio.values.append((n / two.seconds) / rate)
        if cluster is not None:
            on_cluster = partial(
                run_workers, Stack(cluster.url, True, cfg.workdir), topic, n, expected=expected
            )
            say(f"{step} 1 worker, Redis Cluster")
            cluster.flushall()
            c1 = tp.scale(tp.c1_runs, tp.c1, partial(on_cluster, f"{tag}c1"))
            say(f"{step} 2 workers, Redis Cluster")
            cluster.flushall()
            c2 = tp.scale(tp.c2_runs, tp.c2, partial(on_cluster, f"{tag}c2", workers=2))
            if c1 is not None and c2 is not None:
                tp.c_ratio.values.append(c1.seconds / c2.seconds)
    if cfg.profile and cfg.runs:
        say("throughput: one more ioc worker run, profiled (not one of the timed runs)")
        client.flushall()
        raw = cfg.cache / "profile-worker.raw"
        raw.unlink(missing_ok=True)
        profiled = run_workers(stack, topic, n, f"b{stamp}prof", expected=expected, profile=raw)
        if profiled.counted != n:
            raise RuntimeError(f"bench: the profiled worker counted {profiled.counted} of {n}")
    client.flushall()
    client.close()
    tp.note_checks()
    return memory
