"""Section 6 of ``make bench``: backfill of a simulated year from an empty Redis.

``ioc backfill`` (the command for it) from its start until it exits, then, in the same
run, one ``ioc worker`` from its start until the Redis counters reach the number of
messages in the topic, and two workers of one group (one per core).
"""

from __future__ import annotations

from collections.abc import Callable

from services.bench.config import BenchConfig
from services.bench.env import say
from services.bench.inputs import count_lines, fill_topic, run_stamp, sim_log
from services.bench.report import MIB, Figure, Goal, mib
from services.bench.workers import Stack, run_backfill_command, run_workers
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
    command = Figure(
        f"backfill of {n:,} events ({cfg.backfill_days} days), `ioc backfill` (with its "
        "helper process), empty Redis",
        "s",
        goal=Goal("<=", 240.0),
    )
    command_rate = Figure("`ioc backfill` rate", "events/s")
    command_hwm = Figure("`ioc backfill` peak RSS (VmHWM; with its helper)", "MiB")
    seconds = Figure(
        f"backfill of {n:,} events ({cfg.backfill_days} days), 1 worker, empty Redis",
        "s",
        goal=Goal("<=", 240.0),
    )
    rate = Figure("backfill rate", "events/s")
    seconds2 = Figure(
        f"backfill of {n:,} events ({cfg.backfill_days} days), 2 workers (one per core), "
        "empty Redis",
        "s",
        goal=Goal("<=", 300.0),
    )
    hwm = Figure("backfill worker peak RSS (VmHWM; worker + helper)", "MiB")
    used = Figure("Redis used_memory after the backfill", "MiB")
    stack = Stack(server.url, False, cfg.workdir)
    client = server.client()
    stamp = run_stamp()
    for i in range(cfg.runs):
        say(f"backfill run {i + 1}/{cfg.runs}: {n:,} events")
        client.flushall()
        before = int(client.info("memory")["used_memory"])
        cmd = run_backfill_command(stack, topic, n, f"y{stamp}r{i}b", timeout=7200)
        if cmd.counted != n:
            raise RuntimeError(f"bench: ioc backfill counted {cmd.counted} of {n}")
        command.values.append(cmd.seconds)
        command_rate.values.append(n / cmd.seconds)
        command_hwm.values.append(mib(max(cmd.hwm_kib)))
        used.values.append((int(client.info("memory")["used_memory"]) - before) / MIB)
        client.flushall()
        run = run_workers(stack, topic, n, f"y{stamp}r{i}", timeout=7200)
        if run.counted != n:
            raise RuntimeError(f"bench: backfill counted {run.counted} of {n}")
        seconds.values.append(run.seconds)
        rate.values.append(n / run.seconds)
        hwm.values.append(mib(max(run.hwm_kib)))
        client.flushall()
        run2 = run_workers(stack, topic, n, f"y{stamp}r{i}w2", workers=2, timeout=7200)
        if run2.counted != n:
            raise RuntimeError(f"bench: 2-worker backfill counted {run2.counted} of {n}")
        seconds2.values.append(run2.seconds)
        on_run([command, seconds, seconds2, command_rate, rate, command_hwm, hwm, used], n)
    client.flushall()
    client.close()
