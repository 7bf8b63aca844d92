"""Real ``ioc worker`` / ``ioc exporter`` processes driven by ``make bench``.

Workers run as subprocesses with a consumer group and Redis prefix of their own; a run
lasts from the spawn until the Redis counters (processed + duplicate + rejected) reach
the number of messages in the topic. Counting polls only the partitions' stats hashes
(cheap); the final count is then checked with :func:`ioc_monitor.redis.reader.read_snapshot`,
and, when asked, the exporter's samples are compared with ``ioc kpi``'s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import redis

from ioc_monitor.errors import IocError
from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.redis.reader import read_snapshot
from services import harness
from services.bench.env import proc_children, proc_cpu_seconds, proc_hwm_kib

__all__ = [
    "LIVE_ONLY",
    "Exporter",
    "Stack",
    "WorkerRun",
    "cheap_count",
    "py_spy",
    "run_backfill_command",
    "run_floor",
    "run_workers",
    "samples",
]

#: Series only a live pipeline has (wall time, lag, the exporter's health), left out of
#: comparisons with ``ioc kpi`` (as in ``tests/integration/pipeline.py``).
LIVE_ONLY: Final = (
    "ioc_last_event_processed_timestamp_seconds",
    "ioc_consumer_lag_messages",
    "ioc_exporter_",
)
_POLL_S: Final = 0.05


def samples(exposition: str) -> list[str]:
    """Sample lines of an exposition, without comments and live-only series, sorted."""
    return sorted(
        line
        for line in exposition.splitlines()
        if line and not line.startswith("#") and not line.startswith(LIVE_ONLY)
    )


@dataclass(frozen=True)
class Stack:
    """Where a run's state goes: Redis URL, cluster flag, and the bench's work dir."""

    redis_url: str
    cluster: bool
    workdir: Path

    def env(self, topic: str, prefix: str, **extra: str) -> dict[str, str]:
        """The ``IOC_*`` environment of a worker or exporter of this run."""
        env = dict(os.environ)
        env.update(
            IOC_KAFKA_TOPIC=topic,
            IOC_KAFKA_DLQ_TOPIC=f"{topic}.dlq",
            IOC_KAFKA_GROUP=f"g-{prefix}",
            IOC_REDIS_URL=self.redis_url,
            IOC_REDIS_PREFIX=prefix,
            IOC_REDIS_CLUSTER="1" if self.cluster else "0",
            **extra,
        )
        return env

    def client(self) -> Any:
        """A sync client of the run's Redis (cluster-aware)."""
        if self.cluster:
            return redis.RedisCluster.from_url(self.redis_url, socket_timeout=60.0)
        return redis.Redis.from_url(self.redis_url, socket_timeout=60.0)

    def spawn(
        self, argv: Sequence[str], env: Mapping[str, str], log: str
    ) -> subprocess.Popen[bytes]:
        """Start a process in :attr:`workdir`, its output appended to ``workdir/log``."""
        return harness.spawn(argv, self.workdir / log, env=env, cwd=self.workdir)


def cheap_count(client: Any, prefix: str) -> int:
    """Messages counted so far (processed + duplicate + rejected), from the stats hashes."""
    parts = sorted(int(p) for p in client.smembers(global_key(prefix, "parts")))
    total = 0
    for p in parts:
        for name, value in client.hgetall(PartitionKeys(prefix, p).stats).items():
            if name in (b"processed", b"duplicate") or name.startswith(b"rej:"):
                total += int(value)
    return total


class Exporter:
    """An ``ioc exporter`` subprocess on a free port (a context manager).

    Args:
        stack: Redis of the run.
        prefix: Key prefix.
        clock: ``event`` or ``wall``.
        units: Unit registry file (default: bundled).
    """

    def __init__(self, stack: Stack, prefix: str, clock: str, units: Path | None = None) -> None:
        self.port = harness.free_port()
        argv = [*harness.IOC, "exporter", "--clock", clock, "--port", str(self.port)]
        env = stack.env("unused", prefix)
        if units is not None:
            env["IOC_UNITS_FILE"] = str(units.resolve())
        self.proc = stack.spawn(argv, env, f"exporter-{prefix}.log")
        self.url = f"http://127.0.0.1:{self.port}/metrics"

    def scrape(self, timeout: float = 120.0) -> bytes:
        """GET /metrics (waiting up to 30 s for the exporter to listen)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 30
        while True:
            try:
                with opener.open(self.url, timeout=timeout) as resp:
                    return bytes(resp.read())
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, *exc: object) -> None:
        harness.stop(self.proc)


@dataclass
class WorkerRun:
    """Outcome of one worker run.

    Attributes:
        seconds: From the first spawn until the counters reached the target.
        counted: processed + duplicate + rejected read by ``read_snapshot`` at the end.
        hwm_kib: Peak RSS (``VmHWM``) of each worker, plus its helper process's peak.
        cpu_s: CPU seconds of each worker and its helper process.
        equal: The exporter's samples equal ``ioc kpi``'s (None: not checked).
        diff: A few differing lines when not equal.
        restarts: Workers that crashed and were started again (as a supervisor would).
    """

    seconds: float
    counted: int
    hwm_kib: list[int] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    equal: bool | None = None
    diff: list[str] = field(default_factory=list)
    restarts: int = 0


_MAX_RESTARTS: Final = 10
_RESTART_DELAY_S: Final = 2.0


def _wait_count(
    client: Any,
    prefix: str,
    n: int,
    procs: list[subprocess.Popen[bytes]],
    restart: Callable[[int], subprocess.Popen[bytes]],
    timeout: float,
) -> int:
    """Wait until ``n`` messages are counted; restart crashed workers. Returns restarts."""
    deadline = time.monotonic() + timeout
    restarts = 0
    while cheap_count(client, prefix) < n:
        for i, proc in enumerate(procs):
            if proc.poll() is not None:
                restarts += 1
                if restarts > _MAX_RESTARTS:
                    raise IocError(f"bench: workers exited {restarts} times ({proc.returncode})")
                time.sleep(_RESTART_DELAY_S)  # like a supervisor's restart back-off
                procs[i] = restart(i)
        if time.monotonic() > deadline:
            raise IocError(f"bench: fewer than {n} messages counted after {timeout:.0f} s")
        time.sleep(_POLL_S)
    return restarts


def run_workers(
    stack: Stack,
    topic: str,
    n: int,
    prefix: str,
    *,
    workers: int = 1,
    expected: list[str] | None = None,
    timeout: float = 3600.0,
    profile: Path | None = None,
    catch_up: bool = False,
) -> WorkerRun:
    """Run ``workers`` ``ioc worker`` processes on a topic until ``n`` messages are counted.

    Args:
        stack: Redis of the run (its state must not hold ``prefix`` yet).
        topic: Source topic, already filled.
        n: Messages in the topic.
        prefix: Fresh Redis prefix (also names the consumer group).
        workers: Worker processes of one group. Default 1.
        expected: ``samples()`` of ``ioc kpi --format prometheus --clock event`` on the
            same log; when given, the exporter's samples are compared with them.
        timeout: Seconds allowed.
        profile: When given (and ``py-spy`` is installed), the first worker and its
            helper process are sampled by ``py-spy record --subprocesses --format raw``
            from 5 s after its start for up to 60 s, into this file.
        catch_up: Let a worker far behind catch up first (``IOC_WORKER_CATCH_UP``, its
            default). Default False: ``IOC_WORKER_CATCH_UP=0``, the consumer group's
            path from the first message.

    Returns:
        The run's figures.
    """
    env = stack.env(topic, prefix)
    if not catch_up:
        env["IOC_WORKER_CATCH_UP"] = "0"
    client = stack.client()
    start = time.perf_counter()

    def start_worker(i: int) -> subprocess.Popen[bytes]:
        return stack.spawn([*harness.IOC, "worker"], env, f"worker-{prefix}-{i}.log")

    procs = [start_worker(i) for i in range(workers)]
    spy = _profile(procs[0].pid, profile) if profile is not None else None
    try:
        restarts = _wait_count(client, prefix, n, procs, start_worker, timeout)
        seconds = time.perf_counter() - start
        # A worker's figures include its helper process (streams.helper), if it has one.
        family = [[p.pid, *proc_children(p.pid)] for p in procs]
        hwm = [sum(proc_hwm_kib(pid) or 0 for pid in pids) for pids in family]
        cpu = [sum(proc_cpu_seconds(pid) or 0.0 for pid in pids) for pids in family]
    finally:
        harness.stop_all(procs)
        if spy is not None:
            spy.join(timeout=120)
    snap = read_snapshot(client, prefix, "event")
    counted = snap.processed + snap.duplicate + sum(snap.rejected.values())
    run = WorkerRun(seconds, counted, hwm, cpu, restarts=restarts)
    if expected is not None:
        with Exporter(stack, prefix, "event") as exporter:
            got = samples(exporter.scrape().decode())
        run.equal = got == expected
        if not run.equal:
            run.diff = sorted(set(got) ^ set(expected))[:10]
    client.close()
    return run


def run_backfill_command(
    stack: Stack, topic: str, n: int, prefix: str, timeout: float = 3600.0
) -> WorkerRun:
    """Run ``ioc backfill`` on a topic (default helpers) until it exits.

    Args:
        stack: Redis of the run (its state must not hold ``prefix`` yet).
        topic: Source topic, already filled.
        n: Messages in the topic.
        prefix: Fresh Redis prefix.
        timeout: Seconds allowed.

    Returns:
        The run: seconds from the spawn to the exit, the messages counted in Redis, and
        the peak RSS and CPU of the command with its helpers (sampled every 0.05 s
        while they run, so the last moments are missed).

    Raises:
        IocError: It exited with another status than 0, or timed out.
    """
    env = stack.env(topic, prefix)
    start = time.perf_counter()
    proc = stack.spawn([*harness.IOC, "backfill", "--no-progress"], env, f"backfill-{prefix}.log")
    hwm: dict[int, int] = {}
    cpu: dict[int, float] = {}
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            for pid in [proc.pid, *proc_children(proc.pid)]:
                hwm[pid] = max(hwm.get(pid, 0), proc_hwm_kib(pid) or 0)
                cpu[pid] = max(cpu.get(pid, 0.0), proc_cpu_seconds(pid) or 0.0)
            if time.monotonic() > deadline:
                raise IocError(f"bench: ioc backfill timed out after {timeout:.0f} s")
            time.sleep(_POLL_S)
        seconds = time.perf_counter() - start
    finally:
        harness.stop(proc)
    if proc.returncode != 0:
        raise IocError(f"bench: ioc backfill exited with status {proc.returncode}")
    client = stack.client()
    snap = read_snapshot(client, prefix, "event")
    client.close()
    counted = snap.processed + snap.duplicate + sum(snap.rejected.values())
    return WorkerRun(seconds, counted, [sum(hwm.values())], [sum(cpu.values())])


def py_spy() -> str | None:
    """The ``py-spy`` executable (next to this interpreter or on PATH), if installed."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def _profile(pid: int, out: Path) -> threading.Thread | None:
    exe = py_spy()
    if exe is None:
        return None
    argv = [exe, "record", "--pid", str(pid), "--duration", "60", "--rate", "200",
            "--subprocesses", "--format", "raw", "--nonblocking", "-o", str(out)]  # fmt: skip

    def record() -> None:
        time.sleep(5.0)
        subprocess.run(argv, capture_output=True, check=False)

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    return thread


def run_floor(stack: Stack, topic: str, n: int, prefix: str, timeout: float = 3600.0) -> float:
    """Seconds the Faust floor (:mod:`services.bench.faust_floor`) needs for ``n`` messages."""
    done = stack.workdir / f"floor-{prefix}.done"
    done.unlink(missing_ok=True)
    env = stack.env(
        topic, prefix, IOC_BENCH_FLOOR_N=str(n), IOC_BENCH_FLOOR_DONE=str(done.resolve())
    )
    start = time.perf_counter()
    proc = stack.spawn([sys.executable, "-m", "services.bench.faust_floor"], env, f"{prefix}.log")
    try:
        deadline = time.monotonic() + timeout
        while not done.exists():
            if proc.poll() is not None:
                raise IocError(f"bench: the Faust floor exited ({proc.returncode})")
            if time.monotonic() > deadline:
                raise IocError("bench: the Faust floor timed out")
            time.sleep(_POLL_S)
        return time.perf_counter() - start
    finally:
        harness.stop(proc)
        done.unlink(missing_ok=True)
