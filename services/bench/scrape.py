"""Section 4 of ``make bench``: scrape time and size of ``ioc exporter`` with many units.

A commune-level unit's simulated year is written through the worker's processor, then
copied to synthetic registries of N units (:mod:`services.bench.state`); the real
exporter is scraped over HTTP: its first scrape (a full read of every unit), then
repeated scrapes (the incremental read: nothing changed) with the Redis time each costs
from Redis' own ``INFO commandstats``, then scrapes after a batch changed 1 % of the
units. At 1,000 units the two halves of a full, uncached read are also timed in this
process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

import redis

from ioc_monitor.catalogue import EXPORTER_REDIS_UP
from ioc_monitor.config import RedisSettings
from ioc_monitor.redis.keys import PartitionKeys
from services.bench.config import BenchConfig
from services.bench.env import say
from services.bench.report import Figure, Goal
from services.bench.rules_eval import rule_group_figures
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
from services.bench.workers import Exporter, Stack
from services.harness import RedisServer

__all__ = ["Scrape", "run_scrape"]

#: Note on the figures of a unit count whose scrapes came back without the Redis state.
_NOT_READ: Final = "not measured: the exporter could not read Redis (see its log)"
_UP: Final = f"{EXPORTER_REDIS_UP.name} ".encode()


@dataclass
class Scrape:
    """Figures of the scrape benchmark and the Redis memory it measured.

    Attributes:
        figures: Time (ms), size (KiB) and samples per unit count.
        unit_bytes: Bytes of the template unit's window state (a year).
        used_memory: ``used_memory`` (bytes) per unit count.
    """

    figures: list[Figure]
    unit_bytes: int
    used_memory: dict[int, int]


def _redis_up(body: bytes) -> bool:
    """Tell whether a scrape holds the Redis state (the exporter's ``redis_up`` gauge is 1)."""
    return any(
        line.startswith(_UP) and float(line[len(_UP) :]) == 1.0 for line in body.splitlines()
    )


def _wait_idle(client: Any, timeout: float = 600.0) -> None:
    """Wait until Redis answers again, once a read script still running (``BUSY``) ends.

    A scrape slower than the exporter's Redis timeout (``IOC_REDIS_SOCKET_TIMEOUT``,
    default 5 s) leaves its script running after the exporter gave up on it.

    Args:
        client: Sync Redis client.
        timeout: Seconds to wait at most. Default 600.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.ResponseError as exc:
            if "BUSY" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _redis_usec(client: Any) -> float:
    """Microseconds Redis spent in commands so far (``INFO commandstats``, all commands)."""
    stats = client.info("commandstats")
    return float(sum(v["usec"] for k, v in stats.items() if k.startswith("cmdstat_")))


def _touch(client: Any, prefix: str, ids: list[str], every: int) -> int:
    """Mark every ``every``-th unit changed in partition 0's change log, as a commit would.

    Returns:
        The number of units marked.
    """
    keys = PartitionKeys(prefix, 0)
    seq = client.hincrby(keys.stats, "seq", 1)
    marked = ids[::every]
    client.zadd(keys.changes, dict.fromkeys(marked, seq))
    return len(marked)


def run_scrape(cfg: BenchConfig, server: RedisServer) -> Scrape:
    """Scrape the exporter over registries of ``cfg.scrape_units`` units (each a year).

    Args:
        cfg: Settings.
        server: The bench's private Redis (emptied before and after).
    """
    client = server.client()
    client.flushall()
    cache = cfg.cache
    template = template_log(cache)
    prefix = "scrape"
    reg1 = cache / "registry-1.yaml"
    reg1.write_text(registry_yaml(1), encoding="utf-8")
    say(f"scrape: writing the template unit's year through the worker's processor ({template})")
    write_log(RedisSettings(url=server.url, prefix=prefix), template, reg1, cfg.partitions)
    per_unit = memory_breakdown(client, prefix)
    unit_bytes = sum(v["bytes"] for k, v in per_unit.items() if k in UNIT_KEYS)
    figures: list[Figure] = []
    rules: list[Figure] = []
    used: dict[int, int] = {}
    have = 1
    stack = Stack(server.url, False, cfg.workdir)
    repeats = max(cfg.runs, 3)
    for count in sorted(cfg.scrape_units):
        ids = unit_ids(count)
        say(f"scrape: {count:,} units")
        clone_units(client, prefix, TEMPLATE_UNIT, ids[have:])
        have = max(have, count)
        used[count] = int(client.info("memory")["used_memory"])
        reg = cache / f"registry-{count}.yaml"
        reg.write_text(registry_yaml(count), encoding="utf-8")
        t = Figure(f"GET /metrics, {count:,} units", "ms")
        t.goal = {1000: Goal("<=", 200.0), 3321: Goal("<=", 500.0)}.get(count)
        cold = Figure(f"first GET /metrics (full read), {count:,} units", "ms")
        changed = Figure(f"GET /metrics after 1 % of the units changed, {count:,} units", "ms")
        redis_ms = Figure(f"Redis time per GET /metrics, {count:,} units", "ms")
        if count == 3321:
            redis_ms.goal = Goal("<=", 50.0)
        size = Figure(f"/metrics size, {count:,} units", "KiB")
        lines = Figure(f"/metrics samples, {count:,} units", "count")
        measured = (t, cold, changed, redis_ms, size, lines)
        with Exporter(stack, prefix, "event", units=reg) as exporter:
            start = time.perf_counter()
            body = exporter.scrape()  # the first scrape reads every unit
            cold.values.append(1000 * (time.perf_counter() - start))
            for _ in range(repeats):
                before = _redis_usec(client)
                start = time.perf_counter()
                body = exporter.scrape()
                took = time.perf_counter() - start
                redis_ms.values.append((_redis_usec(client) - before) / 1000)
                if not _redis_up(body):
                    say(f"  {count:,} units: {_NOT_READ}")
                    for fig in measured:
                        fig.values.clear()
                        fig.note = _NOT_READ
                    break
                t.values.append(1000 * took)
                size.values.append(len(body) / 1024)
                lines.values.append(
                    sum(1 for x in body.splitlines() if x and not x.startswith(b"#"))
                )
                marked = _touch(client, prefix, ids, 100)
                start = time.perf_counter()
                exporter.scrape()
                changed.values.append(1000 * (time.perf_counter() - start))
                changed.note = f"{marked} units re-read"
            if count == max(cfg.scrape_units) and count >= 1000:
                rules = rule_group_figures(cfg.workdir, exporter.port, count)
        _wait_idle(client)
        figures += list(measured)
        if count == 1000:
            read = Figure("full uncached read_snapshot (Redis, merge, windows), 1,000 units", "ms")
            expo = Figure("families + prometheus-client text exposition, 1,000 units", "ms")
            for _ in range(repeats):
                r, e = scrape_parts(client, prefix, reg)
                read.values.append(1000 * r)
                expo.values.append(1000 * e)
            figures += [read, expo]
    client.flushall()
    client.close()
    return Scrape(figures + rules, unit_bytes, used)
