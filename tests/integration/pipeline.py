"""Helpers to run the real pipeline (simulate → replay → worker → exporter) in tests.

Processes are started and stopped by :mod:`services.harness` (the bench uses the same),
and ports come from :func:`services.harness.free_port` (outside the ephemeral range).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from ioc_monitor.redis.reader import read_snapshot
from services.harness import IOC, free_port, spawn, stop_all
from streams.lease import lease_key
from tests.integration.shared_redis import delete_prefix

__all__ = ["LIVE_ONLY", "Pipeline", "dead_letters", "rejections", "samples", "split_log"]

#: Series that only the live pipeline has (wall time, lag, the exporter's own health).
LIVE_ONLY = (
    "ioc_last_event_processed_timestamp_seconds",
    "ioc_consumer_lag_messages",
    "ioc_exporter_",
)


def samples(exposition: str) -> list[str]:
    """Sample lines of an exposition, without comments and live-only series, sorted."""
    return sorted(
        line
        for line in exposition.splitlines()
        if line and not line.startswith("#") and not line.startswith(LIVE_ONLY)
    )


def split_log(log: Path, at: int) -> tuple[Path, Path]:
    """The first ``at`` lines of a log and the rest, as two files beside it."""
    lines = log.read_bytes().splitlines(keepends=True)
    head, tail = log.with_suffix(".head.jsonl"), log.with_suffix(".tail.jsonl")
    head.write_bytes(b"".join(lines[:at]))
    tail.write_bytes(b"".join(lines[at:]))
    return head, tail


def rejections(expected: list[str]) -> int:
    """Messages ``ioc kpi`` rejected, from its ``ioc_events_rejected_total`` samples."""
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in expected
        if line.startswith("ioc_events_rejected_total{")
    )


def dead_letters(bootstrap: str, dlq: str) -> list[tuple[bytes, str]]:
    """``(value, ioc-reject-reason)`` of every message of a dead-letter topic, sorted."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        dlq, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    try:
        return sorted((m.value, dict(m.headers)["ioc-reject-reason"].decode()) for m in consumer)
    finally:
        consumer.close()


@dataclass
class Pipeline:
    """One isolated pipeline: its own topic, DLQ, group and Redis prefix."""

    name: str
    kafka_bootstrap: str
    redis_url: str
    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: Further ``IOC_*`` settings of every command this pipeline runs.
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.name[-24:].replace("-", "_")

    @property
    def topic(self) -> str:
        return self.name

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            IOC_KAFKA_BOOTSTRAP=self.kafka_bootstrap,
            IOC_KAFKA_TOPIC=self.topic,
            IOC_KAFKA_DLQ_TOPIC=f"{self.topic}.dlq",
            IOC_KAFKA_GROUP=f"g-{self.name}",
            IOC_REDIS_URL=self.redis_url,
            IOC_REDIS_PREFIX=self.prefix,
        )
        env.update(self.extra_env)
        return env

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*IOC, *args], env=self.env(), capture_output=True, timeout=timeout, check=True
        )

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        proc = spawn([*IOC, *args], self.workdir / log, env=self.env())
        self.procs.append(proc)
        return proc

    def simulate(self, path: Path, dossiers: int, seed: int) -> int:
        """``ioc simulate`` with 5 % noise into ``path``; returns its number of messages."""
        self.run("simulate", "--seed", str(seed), "--dossiers", str(dossiers),
                 "--noise", "0.05", "--out", str(path))  # fmt: skip
        lines = [line for line in path.read_bytes().split(b"\n") if line]
        assert len(lines) > dossiers  # several events per dossier, plus noise
        return len(lines)

    def expected(self, *logs: Path) -> list[str]:
        """``ioc kpi --format prometheus --clock event`` samples of the logs."""
        out = self.run("kpi", *map(str, logs), "--format", "prometheus", "--clock", "event")
        return samples(out.stdout.decode())

    def counted(self) -> int:
        """Messages counted so far: processed + rejected + duplicate."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            snap = read_snapshot(client, self.prefix, "event")
        finally:
            client.close()
        return snap.processed + snap.duplicate + sum(snap.rejected.values())

    def wait_counted(self, expected: int, timeout: float = 180, poll: float = 0.5) -> None:
        """Wait until Redis counts ``expected`` messages, looking every ``poll`` seconds.

        Raises:
            AssertionError: Not within ``timeout`` seconds (with the processes' logs).
        """
        deadline = time.monotonic() + timeout
        n = -1
        while time.monotonic() < deadline:
            n = self.counted()
            if n >= expected:
                return
            time.sleep(poll)
        logs = "\n".join(
            p.name + ":\n" + p.read_text(errors="replace")[-3000:]
            for p in self.workdir.glob("*.log")
        )
        raise AssertionError(f"only {n} of {expected} messages counted after {timeout}s\n{logs}")

    def wait_log(self, log: str, text: str, timeout: float = 120) -> str:
        """Wait until the log of a process started by :meth:`start` holds ``text``."""
        path = self.workdir / log
        deadline = time.monotonic() + timeout
        while True:
            out = path.read_text(errors="replace") if path.exists() else ""
            if text in out:
                return out
            assert time.monotonic() < deadline, f"{text!r} not in {log} after {timeout} s:\n{out}"
            time.sleep(0.2)

    @contextlib.contextmanager
    def lease_held(self, holder: str) -> Iterator[None]:
        """Hold this prefix's catch-up lease as ``holder`` (for 2 minutes) while the block runs."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.set(lease_key(self.prefix), holder, px=120_000)
            yield
        finally:
            client.delete(lease_key(self.prefix))
            client.close()

    def lease(self) -> bytes | None:
        """The catch-up lease of this pipeline's prefix (None: nobody holds it)."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            value: bytes | None = client.get(lease_key(self.prefix))
            return value
        finally:
            client.close()

    def scrape_event_clock(self) -> str:
        port = free_port()
        self.start("exporter", "--clock", "event", "--port", str(port), log="exporter.log")
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    return str(r.read().decode())
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def clean_redis(self) -> None:
        """Delete every key of this pipeline's prefix (Redis is shared by the suite)."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            delete_prefix(client, self.prefix)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop every process this pipeline started (SIGTERM, 20 s, then SIGKILL)."""
        stop_all(self.procs, timeout=20)
