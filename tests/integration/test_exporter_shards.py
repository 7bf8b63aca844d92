"""Sharded exporters (``IOC_EXPORTER_SHARD=k/n``) against one unsharded, on real Redis.

State for units of the bundled Quảng Ninh registry is written by the worker's writer;
three ``ioc exporter`` shard processes and one unsharded process are scraped over HTTP.
The shards' units are disjoint, the pipeline series are on shard 0 only, and the union
of the shards' samples is the unsharded exposition. The HTTP server answers HEAD, gzip
and 404 like a Prometheus exporter should.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis.asyncio

from ioc_monitor.redis.keys import PartitionKeys, global_key
from ioc_monitor.redis.writer import commit, prepare
from ioc_monitor.registry import load_registry
from services.harness import IOC, free_port, spawn, stop_all

pytestmark = pytest.mark.integration

HEALTH = (b"ioc_exporter_redis_up", b"ioc_exporter_scrape_duration_seconds")


def _events(units: list[str], n: int) -> list[bytes]:
    rng = random.Random(21)
    out = []
    for i in range(n):
        unit = units[i % len(units)]
        base = {
            "dossier_id": f"d{i}",
            "unit_id": unit,
            "received_at": "2026-03-18T08:00:00+07:00",
            "due_at": f"2026-03-{rng.randint(18, 24)}T17:00:00+07:00",
        }
        out.append(orjson.dumps({**base, "event_id": f"a{i}", "status": 2,
                                 "occurred_at": "2026-03-18T08:05:00+07:00"}))  # fmt: skip
        if i % 3 == 0:
            out.append(orjson.dumps({**base, "event_id": f"b{i}", "status": 10,
                                     "occurred_at": "2026-03-19T10:00:00+07:00",
                                     "rating": "satisfied"}))  # fmt: skip
    return out


async def _write(url: str, prefix: str, units: set[str], messages: list[bytes]) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        for p in (0, 1):
            keys = PartitionKeys(prefix, p)
            await client.sadd(global_key(prefix, "parts"), p)
            batch = list(enumerate(messages[p::2]))
            prep = await prepare(client, keys, batch, units)
            assert prep is not None and await commit(client, prep)
    finally:
        await client.aclose()


def _get(port: int, path: str = "/metrics", **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), b""


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(port)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _samples(body: bytes) -> set[bytes]:
    return {
        x for x in body.splitlines() if x and not x.startswith(b"#") and not x.startswith(HEALTH)
    }


@pytest.fixture
def exporters(redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[dict[str, int]]:
    registry = load_registry(None)
    ids = [u.id for u in registry]
    asyncio.run(_write(redis_url, redis_prefix, set(ids), _events(ids, 300)))
    ports: dict[str, int] = {}
    procs = []
    for shard in ("0/1", "0/3", "1/3", "2/3"):
        ports[shard] = port = free_port()
        env = dict(
            os.environ,
            IOC_REDIS_URL=redis_url,
            IOC_REDIS_PREFIX=redis_prefix,
            IOC_EXPORTER_SHARD=shard,
            IOC_EXPORTER_CLOCK="event",
            IOC_EXPORTER_PORT=str(port),
        )
        log = tmp_path / f"exporter-{shard.replace('/', '-')}.log"
        procs.append(spawn([*IOC, "exporter"], log, env=env))
    try:
        for port in ports.values():
            _wait(port)
        yield ports
    finally:
        stop_all(procs, timeout=20)


def test_the_union_of_the_shards_is_the_unsharded_exposition(exporters: dict[str, int]) -> None:
    whole = _samples(_get(exporters["0/1"])[2])
    shards = [_samples(_get(exporters[s])[2]) for s in ("0/3", "1/3", "2/3")]
    assert set().union(*shards) == whole

    def units(samples: set[bytes]) -> set[bytes]:
        return {x.split(b'unit="')[1].split(b'"')[0] for x in samples if b'unit="' in x}

    per_shard = [units(s) for s in shards]
    registry = len(load_registry(None))  # every unit has its _info series
    assert all(per_shard) and sum(len(u) for u in per_shard) == len(units(whole)) == registry
    assert not per_shard[0] & per_shard[1] and not per_shard[1] & per_shard[2]
    pipeline = [{x for x in s if x.startswith(b"ioc_events_processed_total")} for s in shards]
    assert pipeline[0] and not pipeline[1] and not pipeline[2]


def test_http_head_gzip_and_unknown_paths(exporters: dict[str, int]) -> None:
    port = exporters["0/1"]
    status, headers, plain = _get(port)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    status, headers, packed = _get(port, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert _samples(gzip.decompress(packed)) == _samples(plain)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", method="HEAD")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200 and r.read() == b"" and int(r.headers["Content-Length"]) > 0
    assert _get(port, "/nothing-here")[0] == 404
