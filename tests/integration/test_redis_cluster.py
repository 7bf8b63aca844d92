"""The Redis state equals the offline oracle on a 3-node Redis Cluster and standalone.

A simulated year of one commune-level unit (about 74,000 events, so retention prunes
old shards many times) is written through the worker's processor into 6 partitions,
then read back with the exporter's reader at the event clock and at a wall clock 30
minutes later. Both must equal ``ioc kpi``'s in-memory store over the same log. The
cluster and the standalone server are private ones started by the project's own
helpers (``services.harness``), like the bench's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis

from ioc_monitor.config import RedisSettings
from ioc_monitor.logs import iter_messages
from ioc_monitor.offline import process
from ioc_monitor.redis.reader import read_snapshot
from ioc_monitor.registry import load_registry
from services.bench.state import registry_yaml, template_log, write_log
from services.harness import RedisCluster3, RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture(params=["standalone", "cluster"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, bool, redis.Redis]]:
    if request.param == "cluster":
        with RedisCluster3(tmp_path / "cluster") as cluster:
            cluster_client = cluster.client()  # same command API as redis.Redis
            yield cluster.url, True, cast(redis.Redis, cluster_client)
            cluster_client.close()
    else:
        with RedisServer(tmp_path / "redis") as single:
            client = single.client()
            yield single.url, False, client
            client.close()


def test_a_year_of_one_unit_equals_the_offline_store(
    server: tuple[str, bool, redis.Redis], tmp_path: Path
) -> None:
    url, cluster, client = server
    log = template_log(tmp_path)
    units = tmp_path / "units.yaml"
    units.write_text(registry_yaml(1), encoding="utf-8")
    written = write_log(RedisSettings(url=url, prefix="yr", cluster=cluster), log, units, 6)
    store = process(iter_messages([log]), load_registry(units))
    assert store.watermark is not None and written > 70_000
    for clock in (store.watermark, store.watermark + 1800):
        want = store.snapshot(clock)
        got = read_snapshot(client, "yr", "wall", now=clock)
        assert got.units == want.units
        assert (got.processed, got.duplicate) == (want.processed, want.duplicate)
        assert dict(got.rejected) == dict(want.rejected)
    event = read_snapshot(client, "yr", "event")
    assert event.clock == store.watermark and event.units == store.snapshot(event.clock).units
    year = event.units["bench-u00000"].windows["year"]
    assert sum(year.values()) > 0
