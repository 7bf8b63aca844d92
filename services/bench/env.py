"""What ``make bench`` runs on: machine facts, versions, private Redis servers, Kafka topics.

The bench never uses the shared Redis of the local stack (the test suite flushes it and
its memory figures would mix with other users'): it starts its own ``redis-server``
(standalone, configured like the stack's: AOF, ``appendfsync everysec``) and, for the
Redis Cluster runs, three ``redis-server --cluster-enabled yes`` nodes joined with
``redis-cli --cluster create``. Kafka is the local stack's broker (started if needed).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Final

import redis

from ioc_monitor.config import KafkaSettings, StackSettings, load
from ioc_monitor.errors import IocError

__all__ = [
    "IOC",
    "RedisCluster3",
    "RedisServer",
    "delete_topics",
    "ensure_kafka",
    "free_port",
    "machine_info",
    "proc_cpu_seconds",
    "proc_hwm_kib",
    "sim_log",
    "topic_size",
    "versions",
]

#: Command prefix running the ``ioc`` CLI with this interpreter.
IOC: Final = [sys.executable, "-m", "services.cli"]
_HOST: Final = "127.0.0.1"


_PORTS: Final = range(17400, 18400)  # below the kernel's ephemeral range (32768+)
_taken: set[int] = set()


def free_port() -> int:
    """An unused TCP port on the loopback, outside the ephemeral range.

    Ports handed out by the kernel (``bind(0)``) may be taken by an outgoing connection
    before the server binds them; these cannot, and each is handed out once.
    """
    for port in _PORTS:
        if port in _taken:
            continue
        with socket.socket() as s:
            try:
                s.bind((_HOST, port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise IocError("bench: no free port in 17400-18399")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def machine_info() -> dict[str, str]:
    """CPU model, cores, memory, kernel and the current load averages."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kib = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    load1, load5, load15 = os.getloadavg()
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "load average at the end (1, 5, 15 min)": f"{load1:.2f}, {load5:.2f}, {load15:.2f}",
    }


def _dist(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _redis_server_version() -> str:
    exe = shutil.which("redis-server") or "redis-server"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return "unknown"
    for word in out.stdout.split():
        if word.startswith("v="):
            return word[2:]
    return out.stdout.strip() or "unknown"


def versions() -> dict[str, str]:
    """Versions of Python, the servers and the client libraries in use."""
    return {
        "Python": platform.python_version(),
        "Apache Kafka (broker)": load(StackSettings).kafka_version,
        "Redis (server)": _redis_server_version(),
        "faust-streaming": _dist("faust-streaming"),
        "aiokafka": _dist("aiokafka"),
        "kafka-python (producer)": _dist("kafka-python"),
        "redis-py": _dist("redis"),
        "hiredis": _dist("hiredis"),
        "uvloop": _dist("uvloop"),
        "orjson": _dist("orjson"),
    }


def proc_hwm_kib(pid: int) -> int | None:
    """Peak resident set size (``VmHWM``) of a live process, in KiB."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by a live process."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _redis_conf(port: int, data_dir: Path, cluster: bool) -> str:
    lines = [
        f"bind {_HOST}",
        f"port {port}",
        "protected-mode yes",
        "daemonize no",
        f'dir "{data_dir}"',
        'logfile ""',
        "loglevel warning",
        "appendonly yes",
        "appendfsync everysec",
        'save ""',
    ]
    if cluster:
        lines += ["cluster-enabled yes", "cluster-config-file nodes.conf"]
    return "\n".join(lines) + "\n"


def _wait_ping(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis(host=_HOST, port=port, socket_timeout=1.0)
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                pass
            if proc.poll() is not None:
                raise IocError(f"bench: redis-server on port {port} exited ({proc.returncode})")
            if time.monotonic() > deadline:
                raise IocError(f"bench: redis-server on port {port} did not answer")
            time.sleep(0.05)
    finally:
        client.close()


class _Servers:
    """redis-server processes started (and stopped) by the bench."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, port: int, cluster: bool) -> None:
        data = (self.root / str(port)).resolve()
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        conf = data / "redis.conf"
        conf.write_text(_redis_conf(port, data, cluster), encoding="utf-8")
        exe = shutil.which("redis-server")
        if exe is None:
            raise IocError("bench: redis-server not found (Debian package redis-server)")
        log = (data / "redis.log").open("ab")
        proc = subprocess.Popen([exe, str(conf)], stdout=log, stderr=log, cwd=data)
        self.procs.append(proc)
        _wait_ping(port, proc)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """A private standalone Redis for the bench.

    Args:
        root: Directory for its data (removed on stop).
    """

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self._servers = _Servers(root)

    @property
    def url(self) -> str:
        """``redis://`` URL of db 0."""
        return f"redis://{_HOST}:{self.port}/0"

    def client(self) -> redis.Redis:
        """A sync client (bytes responses)."""
        return redis.Redis(host=_HOST, port=self.port, socket_timeout=60.0)

    def __enter__(self) -> RedisServer:
        self._servers.start(self.port, cluster=False)
        return self

    def __exit__(self, *exc: object) -> None:
        self._servers.stop()


class RedisCluster3:
    """A private three-node Redis Cluster (no replicas) for the bench.

    Args:
        root: Directory for the nodes' data (removed on stop),
            by default ``.stack/redis-cluster``.
    """

    def __init__(self, root: Path) -> None:
        self.ports = [free_port() for _ in range(3)]
        self._servers = _Servers(root)

    @property
    def url(self) -> str:
        """``redis://`` URL of the first node (the client discovers the others)."""
        return f"redis://{_HOST}:{self.ports[0]}/0"

    def client(self) -> redis.RedisCluster:
        """A sync cluster client (bytes responses)."""
        return redis.RedisCluster(host=_HOST, port=self.ports[0], socket_timeout=60.0)

    def flushall(self) -> None:
        """Empty every node."""
        for port in self.ports:
            node = redis.Redis(host=_HOST, port=port, socket_timeout=60.0)
            try:
                node.flushall()
            finally:
                node.close()

    def __enter__(self) -> RedisCluster3:
        try:
            for port in self.ports:
                self._servers.start(port, cluster=True)
            cli = shutil.which("redis-cli") or "redis-cli"
            nodes = [f"{_HOST}:{p}" for p in self.ports]
            subprocess.run(
                [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self._wait_ok()
        except BaseException:
            self._servers.stop()
            raise
        return self

    def _wait_ok(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = []
            for port in self.ports:
                node = redis.Redis(host=_HOST, port=port, socket_timeout=2.0)
                try:
                    info = node.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
                finally:
                    node.close()
                text = info.decode() if isinstance(info, bytes) else str(info)
                states.append("cluster_state:ok" in text)
            if all(states):
                return
            if time.monotonic() > deadline:
                raise IocError("bench: the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self._servers.stop()


def ensure_kafka() -> None:
    """Make sure the local stack's Kafka answers, starting the stack if it does not."""
    from services.stack.kafka import kafka_ready

    settings = load(StackSettings)
    if kafka_ready(settings.kafka_port):
        return
    from services.stack.control import ensure_up

    ensure_up(settings)


def topic_size(topic: str) -> int | None:
    """Messages in a topic (sum of end offsets), None when it does not exist."""
    from kafka import KafkaConsumer, TopicPartition

    from services.publisher import client_options

    consumer = KafkaConsumer(**client_options(load(KafkaSettings)))
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            return None
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return int(sum(ends.values()))
    finally:
        consumer.close()


def delete_topics(topics: Sequence[str]) -> None:
    """Delete topics (missing ones are ignored)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from services.publisher import client_options

    admin = KafkaAdminClient(**client_options(load(KafkaSettings)), client_id="ioc-bench")
    try:
        existing = set(admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            with contextlib.suppress(KafkaError):
                admin.delete_topics(doomed)
    finally:
        admin.close()


def sim_log(cache: Path, days: int, seed: int = 1) -> Path:
    """A simulated log of ``days`` days (``ioc simulate --days``), generated once and cached.

    Args:
        cache: Cache directory (``.stack/bench``).
        days: Simulated days from 2025-07-01 (about 14,400 events a day).
        seed: Simulation seed.

    Returns:
        The JSONL file.
    """
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"sim-{days}d-seed{seed}.jsonl"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    subprocess.run(
        [*IOC, "simulate", "--days", str(days), "--seed", str(seed), "--out", str(tmp)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tmp.rename(path)
    return path


def count_lines(path: Path) -> int:
    """Non-empty lines of a file (the messages of a JSONL log)."""
    n = 0
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                n += 1
    return n


def log_tag(path: Path) -> str:
    """A short tag that changes when the log's content changes (name, size, mtime)."""
    st = path.stat()
    text = f"{path.name}:{st.st_size}:{int(st.st_mtime)}"
    return hashlib.sha1(text.encode()).hexdigest()[:8]


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """Context manager yielding a one-element list set to the elapsed seconds on exit."""
    out = [0.0]
    start = time.perf_counter()
    try:
        yield out
    finally:
        out[0] = time.perf_counter() - start
