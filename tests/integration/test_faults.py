"""Fault injection on the real pipeline: every test ends with the exposition equal to ``ioc kpi``.

simulate → replay → worker → Redis → exporter ``--clock event``; faults are injected
while the events flow, and at the end every exported series must equal
``ioc kpi --format prometheus --clock event`` on the same log (nothing lost), and
processed + duplicate + rejected must equal the messages sent (nothing counted twice).

Redis faults use a private redis-server (AOF, ``appendfsync always``) and the Kafka
restart a private broker, so the shared local stack is never disturbed. Waits are
bounded only to stop a hung test; no assertion depends on timing.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ioc_monitor.config import StackSettings
from services.harness import stop
from services.stack.control import ServiceStatus
from tests.integration.pipeline import samples
from tests.integration.private_stack import (
    PrivateKafka,
    PrivatePipeline,
    PrivateRedis,
    scrape,
    stack_jars,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Faust group timeouts of the workers under test: a SIGKILLed member leaves the group
#: after 6 s (the broker's minimum) instead of Faust's 60 s, so restarts are quick.
#: Correctness never depends on them (the offsets stored in Redis do).
FAST_GROUP = {"BROKER_SESSION_TIMEOUT": "6", "BROKER_HEARTBEAT_INTERVAL": "1"}


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def private_kafka(
    stack: list[ServiceStatus],
    stack_settings: StackSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PrivateKafka]:
    broker = PrivateKafka(
        tmp_path_factory.mktemp("kafka"), stack_jars(stack_settings), stack_settings.kafka_version
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _pipeline(name: str, bootstrap: str, redis_url: str, workdir: Path) -> PrivatePipeline:
    return PrivatePipeline(name, bootstrap, redis_url, workdir, extra_env=dict(FAST_GROUP))


@pytest.fixture
def shared(
    kafka_bootstrap: str, redis_url: str, unique_name: str, tmp_path: Path
) -> Iterator[PrivatePipeline]:
    """A pipeline on the shared stack (its own topic, group and key prefix)."""
    p = _pipeline(unique_name, kafka_bootstrap, redis_url, tmp_path)
    try:
        yield p
    finally:
        p.stop()
        p.clean_redis()


@pytest.fixture
def on_private_redis(
    kafka_bootstrap: str, private_redis: PrivateRedis, unique_name: str, tmp_path: Path
) -> Iterator[PrivatePipeline]:
    """A pipeline on the shared Kafka and a private Redis."""
    p = _pipeline(unique_name, kafka_bootstrap, private_redis.url, tmp_path)
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def on_private_kafka(
    private_kafka: PrivateKafka, redis_url: str, unique_name: str, tmp_path: Path
) -> Iterator[PrivatePipeline]:
    """A pipeline on a private Kafka broker and the shared Redis."""
    p = _pipeline(unique_name, private_kafka.bootstrap, redis_url, tmp_path)
    try:
        yield p
    finally:
        p.stop()
        p.clean_redis()


# --- helpers -------------------------------------------------------------------------------


def simulate(p: PrivatePipeline, dossiers: int, seed: int, noise: float = 0.05) -> tuple[Path, int]:
    """Simulate a log into the pipeline's directory; return it and its message count."""
    log = p.workdir / "events.jsonl"
    p.run(
        "simulate",
        *("--seed", str(seed), "--dossiers", str(dossiers), "--noise", str(noise)),
        *("--out", str(log)),
    )
    n = sum(1 for line in log.read_bytes().split(b"\n") if line)
    assert n > dossiers
    return log, n


def replay(p: PrivatePipeline, log: Path, rate: int | None = None) -> subprocess.Popen[bytes]:
    speed = ("--rate", str(rate)) if rate else ("--max",)
    return p.start(
        "replay", str(log), *speed, "--partitions", "3", "--no-progress", log="replay.log"
    )


def wait_share(p: PrivatePipeline, share: float, n: int) -> None:
    wait_for(lambda: p.counted() >= share * n, f"{share:.0%} of {n} messages counted")


def assert_equals_kpi(p: PrivatePipeline, n: int, *logs: Path) -> list[str]:
    """The final check of every fault test; returns the exposition's samples."""
    p.wait_counted(n)
    time.sleep(1.0)  # let a redelivery that would count twice land before checking
    assert p.counted() == n, "a message was counted twice"
    got = samples(scrape(p.start_exporter("event")))
    expected = p.expected(*logs)
    assert any(line.startswith("ioc_on_time_ratio{") for line in expected)
    assert got == expected
    return got


def _value(exposition: list[str], name: str) -> float:
    (line,) = [x for x in exposition if x.startswith(name + " ")]
    return float(line.rsplit(" ", 1)[1])


def _prefix_keys(server: PrivateRedis, prefix: str) -> list[bytes]:
    client = server.client()
    try:
        return list(client.scan_iter(match=f"{prefix}:*", count=1000))
    finally:
        client.close()


# --- 1. worker SIGKILLed ---------------------------------------------------------------------


def test_worker_sigkilled_at_random_points(shared: PrivatePipeline) -> None:
    """SIGKILL the worker at six seeded-random points of a replay, restarting it each time.

    Kill points are random shares of the log (up to 70%, so a kill always lands
    mid-stream), each at least one message after the previous kill (the restarted
    worker has joined and applied something), plus a random few milliseconds.
    """
    p = shared
    log, n = simulate(p, dossiers=1500, seed=31)
    rng = random.Random(31)
    points = sorted(rng.uniform(0.05, 0.7) for _ in range(6))
    feed = replay(p, log, rate=150)
    worker = p.start("worker", "--batch", "50", log="worker-0.log")
    last = 0
    for i, share in enumerate(points, start=1):
        wait_for(
            lambda s=share, floor=last: p.counted() >= max(s * n, floor + 1),
            f"kill point {i}",
        )
        time.sleep(rng.uniform(0.0, 0.03))
        last = p.counted()
        assert last < n, "killed after the end, not mid-stream"
        stop(worker, signal.SIGKILL)
        worker = p.start("worker", "--batch", "50", log=f"worker-{i}.log")
    assert feed.wait(timeout=300) == 0, p.logs_text()
    assert_equals_kpi(p, n, log)


def test_two_workers_killed_while_fourteen_months_are_replayed_twice(
    shared: PrivatePipeline,
) -> None:
    """Per-dossier de-duplication at any age (KPIS.md v2), with kills and two workers.

    A 425-day log is replayed twice (a duplicate storm, as when a producer re-sends its
    history) while two workers share its 3 partitions and one of them is SIGKILLed at
    three random points. Every series, the processed / duplicate / rejected counts
    included, must equal ``ioc kpi`` on the log twice; and the second pass accepts
    nothing new: every message it repeats that was not rejected is a duplicate.
    """
    p = shared
    log = p.workdir / "events.jsonl"
    p.run(
        "simulate",
        *("--seed", "36", "--days", "425", "--scale", "0.004", "--noise", "0.02"),
        *("--out", str(log)),
    )
    n = sum(1 for line in log.read_bytes().split(b"\n") if line)
    assert n > 10_000
    rng = random.Random(36)
    workers = [p.start("worker", "--batch", "200", log=f"w{i}-0.log") for i in (0, 1)]
    feed = replay(p, log, rate=4000)
    points = sorted(rng.uniform(0.1, 0.9) for _ in range(3))
    for i, share in enumerate(points, start=1):
        if i == 2:  # the second kill lands while the whole log is sent a second time
            assert feed.wait(timeout=300) == 0, p.logs_text()
            feed = replay(p, log, rate=4000)
        wait_for(lambda s=share, k=i: p.counted() >= (s + (k >= 2)) * n, f"kill point {i}")
        victim = rng.randrange(2)
        stop(workers[victim], signal.SIGKILL)
        workers[victim] = p.start("worker", "--batch", "200", log=f"w{victim}-{i}.log")
    assert feed.wait(timeout=300) == 0, p.logs_text()
    got = assert_equals_kpi(p, 2 * n, log, log)
    once = p.expected(log)
    processed, duplicate = (
        _value(once, f"ioc_events_{c}_total") for c in ("processed", "duplicate")
    )
    # The second pass accepts nothing new; each of its messages that was processed or a
    # duplicate the first time is a duplicate now (rejected ones are rejected again).
    assert _value(got, "ioc_events_processed_total") == processed
    assert _value(got, "ioc_events_duplicate_total") == processed + 2 * duplicate


# --- 2. Redis and Kafka restarted --------------------------------------------------------------


def test_redis_restarted_mid_stream(
    on_private_redis: PrivatePipeline, private_redis: PrivateRedis
) -> None:
    """Redis (AOF, fsync always) is stopped with SIGTERM and started again, twice mid-stream."""
    p = on_private_redis
    log, n = simulate(p, dossiers=1200, seed=32)
    worker = p.start("worker", "--batch", "50", log="worker.log")
    feed = replay(p, log, rate=600)
    for share in (0.3, 0.65):
        wait_share(p, share, n)
        assert p.counted() < n
        private_redis.stop(signal.SIGTERM)
        time.sleep(2.0)  # the worker meets a dead Redis and backs off
        private_redis.start()
    assert feed.wait(timeout=300) == 0, p.logs_text()
    assert_equals_kpi(p, n, log)
    assert worker.poll() is None, "the worker died with Redis"
    assert "Redis unavailable" in (p.workdir / "worker.log").read_text(errors="replace")


def test_kafka_broker_restarted_mid_stream(
    on_private_kafka: PrivatePipeline, private_kafka: PrivateKafka
) -> None:
    """The broker is stopped with SIGTERM mid-replay and started again on the same data."""
    p = on_private_kafka
    log, n = simulate(p, dossiers=1200, seed=33)
    worker = p.start("worker", "--batch", "50", log="worker.log")
    feed = replay(p, log, rate=600)
    wait_share(p, 0.35, n)
    assert p.counted() < n
    private_kafka.stop(signal.SIGTERM)
    time.sleep(3.0)  # producer and consumer meet a dead broker
    private_kafka.start()
    assert feed.wait(timeout=300) == 0, p.logs_text()
    assert_equals_kpi(p, n, log)
    assert worker.poll() is None, "the worker died with the broker"


# --- 3. duplicate storm ------------------------------------------------------------------------


def test_duplicate_storm(shared: PrivatePipeline) -> None:
    """The whole log replayed a second time changes nothing but the duplicate counter."""
    p = shared
    log, n = simulate(p, dossiers=800, seed=34, noise=0.0)
    p.start("worker", log="worker.log")
    assert replay(p, log).wait(timeout=300) == 0
    first = assert_equals_kpi(p, n, log)
    accepted = _value(first, "ioc_events_processed_total")
    assert accepted == n and _value(first, "ioc_events_duplicate_total") == 0
    assert replay(p, log).wait(timeout=300) == 0
    second = assert_equals_kpi(p, 2 * n, log, log)

    def without_duplicates(lines: list[str]) -> list[str]:
        return [x for x in lines if not x.startswith("ioc_events_duplicate_total ")]

    assert without_duplicates(second) == without_duplicates(first)
    assert _value(second, "ioc_events_duplicate_total") == accepted


# --- 4. Redis unreachable for a while ------------------------------------------------------------


def test_redis_unreachable_for_a_while(
    on_private_redis: PrivatePipeline, private_redis: PrivateRedis
) -> None:
    """The worker pauses and resumes without loss; the exporter says redis_up 0 meanwhile.

    During the outage the worker is also killed and restarted, so a fresh worker gets
    its partitions while Redis cannot tell it where to resume: it must wait, not stop.
    """
    p = on_private_redis
    log, n = simulate(p, dossiers=1200, seed=35)
    url = p.start_exporter("event")
    worker = p.start("worker", "--batch", "50", log="worker.log")
    feed = replay(p, log, rate=600)
    wait_share(p, 0.3, n)
    assert p.counted() < n
    private_redis.stop(signal.SIGTERM)
    down = scrape(url)
    assert "ioc_exporter_redis_up 0.0" in down.splitlines()
    assert not [x for x in samples(down) if x.startswith("ioc_")], "KPI series without Redis"
    first_log = p.workdir / "worker.log"
    wait_for(lambda: "retrying partition" in first_log.read_text(errors="replace"), "a retry")
    time.sleep(3.0)  # several retries with backoff while messages keep arriving
    assert worker.poll() is None, "the worker died while Redis was down"
    stop(worker, signal.SIGKILL)
    worker = p.start("worker", "--batch", "50", log="worker-2.log")
    second_log = p.workdir / "worker-2.log"

    def waits_for_redis() -> bool:
        text = second_log.read_text(errors="replace")
        assert "Crashed" not in text, f"the new worker crashed on assignment:\n{text[-3000:]}"
        return "waits for its stored offset" in text

    wait_for(waits_for_redis, "the new worker assigned its partitions during the outage")
    assert "ioc_exporter_redis_up 0.0" in scrape(url).splitlines()
    assert worker.poll() is None, "the new worker stopped on its assignment without Redis"
    private_redis.start()
    assert "ioc_exporter_redis_up 1.0" in scrape(url).splitlines()
    assert feed.wait(timeout=300) == 0, p.logs_text()
    assert_equals_kpi(p, n, log)
    assert worker.poll() is None


# --- 5. Redis lost: ioc recover ----------------------------------------------------------------


def test_redis_lost_then_recover(
    on_private_redis: PrivatePipeline, private_redis: PrivateRedis
) -> None:
    """FLUSHALL mid-stream; `ioc recover --yes` then a new worker rebuild the exact figures."""
    p = on_private_redis
    log, n = simulate(p, dossiers=1000, seed=36)
    worker = p.start("worker", "--batch", "100", log="worker.log")
    feed = replay(p, log, rate=1000)
    wait_share(p, 0.5, n)
    client = private_redis.client()
    client.flushall()
    foreign = {  # another application, and deployments whose prefixes start like ours
        "other-app:keep": b"1",
        f"{p.prefix}:x:{{0}}:off": b"7",
        f"{p.prefix}x:parts": b"0",
    }
    client.mset(foreign)
    assert feed.wait(timeout=300) == 0, p.logs_text()
    ours = f"{p.prefix}:{{".encode()
    wait_for(
        lambda: any(k.startswith(ours) for k in _prefix_keys(private_redis, p.prefix)),
        "the worker writing on top of the lost state",
    )
    # Refused while a worker is a member of the group; nothing is deleted.
    busy = p.run_unchecked("recover", "--yes")
    assert busy.returncode == 1
    assert b"active member" in busy.stderr and b"stop every `ioc worker`" in busy.stderr
    assert any(k.startswith(ours) for k in _prefix_keys(private_redis, p.prefix))
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    # Not confirmed (no --yes, no terminal): refused, nothing deleted.
    assert p.run_unchecked("recover").returncode == 1
    assert any(k.startswith(ours) for k in _prefix_keys(private_redis, p.prefix))
    done = p.run("recover", "--yes")
    assert b"deleted" in done.stderr and b"rewound" in done.stderr
    assert _prefix_keys(private_redis, p.prefix) == [f"{p.prefix}:x:{{0}}:off".encode()]
    assert client.mget(list(foreign)) == list(foreign.values()), "recover touched other keys"
    client.close()
    p.start("worker", "--batch", "100", log="worker-rebuild.log")
    assert_equals_kpi(p, n, log)
