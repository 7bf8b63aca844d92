"""Section 6 of ``make bench``: backfill of a simulated year from an empty Redis.

``ioc backfill`` (the command for it) from its start until it exits, then, in the same
run (unless ``IOC_BENCH_BACKFILL_WORKERS=0``), one ``ioc worker`` with its default
settings (it catches up first, :mod:`streams.catch_up`) from its start until the Redis
counters reach the number of messages in the topic, and two such workers of one group
(one per core). The consumer group's own rate (no catch-up) is section 1's.
"""

from __future__ import annotations

from collections.abc import Callable

from services.bench.config import BenchConfig
from services.bench.env import say
from services.bench.inputs import count_lines, fill_topic, run_stamp, sim_log
from services.bench.report import MIB, Figure, Goal, mib
from services.bench.workers import Stack, WorkerRun, run_backfill_command, run_workers
from services.harness import RedisServer

__all__ = ["run_backfill"]


def run_backfill(
    cfg: BenchConfig, server: RedisServer, on_run: Callable[[list[Figure], int], None]
) -> None:
    """Make ``cfg.runs`` backfill runs of ``cfg.backfill_days`` simulated days.

    Args:
        cfg: Settings.
        server: The bench's private Redis (emptied before each run).
        on_run: Called after each run with the figures so far and the log's messages.

    Raises:
        RuntimeError: A run did not count every message.
    """
    log = sim_log(cfg.cache, cfg.backfill_days)
    n = count_lines(log)
    topic = fill_topic(log, n, cfg.partitions)

    def duration(who: str, goal: float) -> Figure:
        label = f"backfill of {n:,} events ({cfg.backfill_days} days), {who}, empty Redis"
        return Figure(label, "s", goal=Goal("<=", goal))

    command = duration("`ioc backfill` (with its helper processes)", 240.0)
    command_rate = Figure("`ioc backfill` rate", "events/s")
    command_hwm = Figure("`ioc backfill` peak RSS (VmHWM; with its helpers)", "MiB")
    seconds = duration("1 `ioc worker` (catches up first)", 240.0)
    rate = Figure("backfill rate, 1 worker", "events/s")
    seconds2 = duration("2 `ioc worker` of one group (one per core)", 300.0)
    hwm = Figure("backfill worker peak RSS (VmHWM; worker + helper)", "MiB")
    used = Figure("Redis used_memory after the backfill", "MiB")
    stack = Stack(server.url, False, cfg.workdir)
    client = server.client()
    stamp = run_stamp()

    def counted(run: WorkerRun, who: str, *figures: Figure) -> None:
        """Check a run counted every event; add its seconds, rate and peak RSS (in order)."""
        if run.counted != n:
            raise RuntimeError(f"bench: {who} counted {run.counted} of {n}")
        values = (run.seconds, n / run.seconds, mib(max(run.hwm_kib)))
        for figure, value in zip(figures, values, strict=False):
            figure.values.append(value)

    for i in range(cfg.runs):
        say(f"backfill run {i + 1}/{cfg.runs}: {n:,} events")
        client.flushall()
        before = int(client.info("memory")["used_memory"])
        cmd = run_backfill_command(stack, topic, n, f"y{stamp}r{i}b", timeout=7200)
        counted(cmd, "ioc backfill", command, command_rate, command_hwm)
        used.values.append((int(client.info("memory")["used_memory"]) - before) / MIB)
        if not cfg.backfill_workers:
            on_run([command, command_rate, command_hwm, used], n)
            continue
        client.flushall()
        run = run_workers(stack, topic, n, f"y{stamp}r{i}", timeout=7200, catch_up=True)
        counted(run, "the 1-worker backfill", seconds, rate, hwm)
        client.flushall()
        run2 = run_workers(
            stack, topic, n, f"y{stamp}r{i}w2", workers=2, timeout=7200, catch_up=True
        )
        counted(run2, "the 2-worker backfill", seconds2)
        on_run([command, seconds, seconds2, command_rate, rate, command_hwm, hwm, used], n)
    client.flushall()
    client.close()
