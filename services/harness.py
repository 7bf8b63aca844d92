"""One process harness for the benchmark and the integration tests.

What both need, written once: the ``ioc`` command prefix, free loopback ports outside
the kernel's ephemeral range, spawning a process with its output in a log file,
stopping processes (signal, wait, then ``SIGKILL``), and private ``redis-server`` processes
(standalone, with an optional ACL user and optional TLS, or a three-node Redis Cluster),
each with its own port and directory, so that nothing touches the Redis of a running
``make demo``.

Errors raise :class:`~ioc_monitor.errors.IocError` with the server's log tail; the
tests turn them into failures, never skips.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import redis

from ioc_monitor.errors import IocError
from services.stack.proc import tail

__all__ = [
    "IOC",
    "RedisCluster3",
    "RedisServer",
    "TlsFiles",
    "free_port",
    "redis_server_exe",
    "spawn",
    "stop",
    "stop_all",
]

#: Command prefix running the ``ioc`` CLI with this interpreter.
IOC: Final = (sys.executable, "-m", "services.cli")
HOST: Final = "127.0.0.1"
#: Ports handed out by :func:`free_port`: below the kernel's ephemeral range (32768+).
PORTS: Final = range(17400, 18400)
_taken: set[int] = set()


def free_port() -> int:
    """An unused TCP port on the loopback, outside the ephemeral range.

    Ports handed out by the kernel (``bind(0)``) may be taken by an outgoing connection
    before the server binds them; these cannot, and each is handed out once per process.

    Raises:
        IocError: Every port of :data:`PORTS` is taken.
    """
    for port in PORTS:
        if port in _taken:
            continue
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise IocError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def spawn(
    argv: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a process with stdout and stderr appended to ``log``.

    Args:
        argv: Command line, e.g. ``[*IOC, "worker"]``.
        log: Log file (its directory is created).
        env: Environment; default the current one.
        cwd: Working directory; default the current one.

    Returns:
        The running process.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )


def stop(
    proc: subprocess.Popen[bytes] | None,
    sig: signal.Signals = signal.SIGTERM,
    timeout: float = 30.0,
) -> None:
    """Stop one process: ``sig``, wait up to ``timeout`` seconds, then ``SIGKILL``.

    Args:
        proc: The process (``None`` or already exited: nothing to do).
        sig: First signal. Default ``SIGTERM``.
        timeout: Seconds to wait after it. Default 30.
    """
    stop_all([] if proc is None else [proc], sig, timeout)


def stop_all(
    procs: Sequence[subprocess.Popen[bytes]],
    sig: signal.Signals = signal.SIGTERM,
    timeout: float = 30.0,
) -> None:
    """Stop processes: signal them all first, then wait for each, killing the stragglers.

    Args:
        procs: The processes (those already exited are only reaped).
        sig: First signal. Default ``SIGTERM``.
        timeout: Seconds to wait for each after the signal. Default 30.
    """
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(sig)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def redis_server_exe() -> str:
    """Path of ``redis-server`` (also looked for in the sbin directories).

    Raises:
        IocError: It is not installed.
    """
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    found = shutil.which("redis-server", path=path)
    if found is None:
        raise IocError("redis-server not found (install the Debian package redis-server)")
    return found


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a TLS server, and optionally of a client certificate it trusts.

    Attributes:
        ca: CA bundle: the server checks client certificates with it, clients check the
            server's certificate with it.
        cert: The server's certificate (chain).
        key: The server's private key (unencrypted).
        client_cert: A client certificate signed by ``ca``, presented by the harness's own
            clients (:meth:`RedisServer.client`). Default None: no client certificate.
        client_key: Its private key. Default None.
    """

    ca: Path
    cert: Path
    key: Path
    client_cert: Path | None = None
    client_key: Path | None = None


class RedisServer:
    """A private ``redis-server`` on its own port and directory (a context manager).

    Args:
        root: Its directory (data, ``redis.conf``, ``redis.log``); removed on stop when
            ``cleanup``.
        fsync: ``appendfsync`` policy of the AOF. Default ``everysec`` (as the stack).
        username: ACL user to create (with ``password``); the default user is then
            disabled.
        password: That user's password.
        cluster: Start it as a Redis Cluster node. Default False.
        cleanup: Remove ``root`` on stop. Default True.
        port: TCP port; default a :func:`free_port`.
        tls: Serve TLS only on ``port`` (``port 0``, ``tls-port``) with these files.
            Default None: plain TCP.
        tls_auth_clients: ``tls-auth-clients`` with TLS: ``yes`` (a client certificate
            signed by ``tls.ca`` is required), ``optional`` or ``no``. Default ``no``.
    """

    def __init__(
        self,
        root: Path,
        *,
        fsync: str = "everysec",
        username: str | None = None,
        password: str | None = None,
        cluster: bool = False,
        cleanup: bool = True,
        port: int | None = None,
        tls: TlsFiles | None = None,
        tls_auth_clients: Literal["yes", "optional", "no"] = "no",
    ) -> None:
        self.root = root.resolve()
        self.port = port if port is not None else free_port()
        self.fsync = fsync
        self.username = username
        self.password = password
        self.cluster = cluster
        self.cleanup = cleanup
        self.tls = tls
        self.tls_auth_clients = tls_auth_clients
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://`` (``rediss://`` with TLS) URL of db 0, without credentials."""
        scheme = "rediss" if self.tls is not None else "redis"
        return f"{scheme}://{HOST}:{self.port}/0"

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.root / "redis.log"

    def conf(self) -> str:
        """The ``redis.conf`` text: loopback only, AOF, no RDB snapshots (TLS if asked)."""
        if self.tls is None:
            ports = [f"port {self.port}"]
        else:
            ports = [
                "port 0",
                f"tls-port {self.port}",
                f'tls-cert-file "{self.tls.cert}"',
                f'tls-key-file "{self.tls.key}"',
                f'tls-ca-cert-file "{self.tls.ca}"',
                f"tls-auth-clients {self.tls_auth_clients}",
            ]
        lines = [
            f"bind {HOST}",
            *ports,
            "protected-mode yes",
            "daemonize no",
            f'dir "{self.root}"',
            'logfile ""',
            "loglevel warning",
            "appendonly yes",
            f"appendfsync {self.fsync}",
            'save ""',
        ]
        if self.password is not None:
            lines += [f"user {self.username} on >{self.password} ~* &* +@all", "user default off"]
        if self.cluster:
            lines += ["cluster-enabled yes", "cluster-config-file nodes.conf"]
        return "\n".join(lines) + "\n"

    def client(self, socket_timeout: float = 60.0) -> redis.Redis:
        """A sync client (``bytes`` responses) with this server's credentials (and TLS)."""
        tls: dict[str, Any] = {}
        if self.tls is not None:
            tls = {
                "ssl": True,
                "ssl_ca_certs": str(self.tls.ca),
                "ssl_cert_reqs": "required",
                "ssl_certfile": str(self.tls.client_cert) if self.tls.client_cert else None,
                "ssl_keyfile": str(self.tls.client_key) if self.tls.client_key else None,
            }
        return redis.Redis(
            host=HOST,
            port=self.port,
            username=self.username,
            password=self.password,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            **tls,
        )

    def ready(self) -> bool:
        """Tell whether the server answers ``PING``."""
        client = self.client(socket_timeout=1.0)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (again, on the same port and data) and wait for ``PING``.

        Raises:
            IocError: It exited or did not answer within ``timeout`` seconds.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "redis.conf"
        conf.write_text(self.conf(), encoding="utf-8")
        self.proc = spawn([redis_server_exe(), str(conf)], self.log, cwd=self.root)
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise IocError(
                    f"private redis-server on port {self.port} did not start:\n{tail(self.log)}"
                )
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the server (``SIGKILL`` for a crash); its data stays for a restart."""
        stop(self.proc, sig)

    def __enter__(self) -> RedisServer:
        if self.cleanup:
            shutil.rmtree(self.root, ignore_errors=True)
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.cleanup:
            shutil.rmtree(self.root, ignore_errors=True)


class RedisCluster3:
    """A private three-node Redis Cluster without replicas (a context manager).

    Args:
        root: Directory of the nodes' data (removed on stop).
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.nodes = [
            RedisServer(self.root / str(i), cluster=True, cleanup=False) for i in range(3)
        ]
        self.ports = [node.port for node in self.nodes]

    @property
    def url(self) -> str:
        """``redis://`` URL of the first node (the client discovers the others)."""
        return self.nodes[0].url

    def client(self) -> redis.RedisCluster:
        """A sync cluster client (``bytes`` responses)."""
        return redis.RedisCluster(host=HOST, port=self.ports[0], socket_timeout=60.0)

    def flushall(self) -> None:
        """Empty every node."""
        for node in self.nodes:
            client = node.client()
            try:
                client.flushall()
            finally:
                client.close()

    def __enter__(self) -> RedisCluster3:
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            for node in self.nodes:
                node.start()
            cli = shutil.which("redis-cli") or "redis-cli"
            addrs = [f"{HOST}:{p}" for p in self.ports]
            subprocess.run(
                [cli, "--cluster", "create", *addrs, "--cluster-replicas", "0", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self._wait_ok()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ok(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = []
            for node in self.nodes:
                client = node.client(socket_timeout=2.0)
                try:
                    info = client.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
                finally:
                    client.close()
                text = info.decode() if isinstance(info, bytes) else str(info)
                states.append("cluster_state:ok" in text)
            if all(states):
                return
            if time.monotonic() > deadline:
                raise IocError("the private Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        stop_all([n.proc for n in self.nodes if n.proc is not None])
        shutil.rmtree(self.root, ignore_errors=True)
