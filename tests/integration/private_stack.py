"""Private Redis and Kafka servers for the fault and security tests (not a test module).

The shared local stack must not be disturbed by restarts, ``FLUSHALL`` or credentials,
so these tests start their own servers on free ports, each with its own directory:

- :class:`PrivateRedis`: ``redis-server`` with AOF (``appendfsync always``), optionally
  with an ACL user and the default user disabled, optionally TLS only;
- :class:`PrivateKafka`: a single-node KRaft broker built from the stack's own
  ``server.properties`` renderer and jars, optionally with a SASL listener
  (SCRAM-SHA-256; the credential is created at format time with ``--add-scram``) and
  optionally TLS on it (``SSL``/``SASL_SSL``, a PKCS12 keystore; the controller listener
  stays PLAINTEXT on the loopback);
- :func:`make_pki`: a throw-away CA, server and client certificates (``openssl``) and
  the broker's PKCS12 key and trust stores (``openssl``, ``keytool``).

A server that cannot start fails the test (never skips it).
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import redis
from pydantic import SecretStr

from ioc_monitor.config import KafkaSettings, StackSettings
from ioc_monitor.errors import IocError
from ioc_monitor.redis.reader import read_snapshot
from services.harness import IOC, RedisServer, TlsFiles, free_port, spawn, stop
from services.publisher import client_options
from services.stack.kafka import (
    find_java_tools,
    kafka_argv,
    kafka_major,
    kafka_ready,
    new_cluster_id,
    render_log_config,
    render_server_properties,
)
from services.stack.proc import tail
from tests.integration.pipeline import Pipeline, samples
from tests.integration.shared_redis import delete_prefix

START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class KafkaTls:
    """TLS of a :class:`PrivateKafka` client listener (files made by the test).

    Attributes:
        keystore: PKCS12 keystore: the broker's key and certificate chain.
        truststore: PKCS12 truststore: the CA of the client certificates.
        store_password: Password of both stores (also the key's).
        ca: The CA (PEM) clients check the broker's certificate with.
        client_cert: Client certificate (PEM) of :meth:`PrivateKafka.settings`/``env``.
        client_key: Its key (PEM).
        client_auth: ``ssl.client.auth``: ``required``, ``requested`` or ``none``.
    """

    keystore: Path
    truststore: Path
    store_password: str
    ca: Path
    client_cert: Path | None = None
    client_key: Path | None = None
    client_auth: str = "required"


class PrivateRedis(RedisServer):
    """A redis-server of one test: own port and directory, AOF always, optional ACL and TLS.

    :class:`services.harness.RedisServer` with ``appendfsync always``; its directory is
    kept on stop (it lives under ``tmp_path``). A server that cannot start fails the test.

    Args:
        workdir: Its directory (data, ``redis.conf``, ``redis.log``).
        username: ACL user to create (with ``password``); the default user is then off.
        password: That user's password.
        tls: Serve TLS only, with these files. Default None: plain TCP.
        tls_auth_clients: ``tls-auth-clients`` (``yes``, ``optional``, ``no``). Default ``no``.
    """

    def __init__(
        self,
        workdir: Path,
        username: str | None = None,
        password: str | None = None,
        tls: TlsFiles | None = None,
        tls_auth_clients: Literal["yes", "optional", "no"] = "no",
    ) -> None:
        super().__init__(
            workdir,
            fsync="always",
            username=username,
            password=password,
            cleanup=False,
            tls=tls,
            tls_auth_clients=tls_auth_clients,
        )

    @property
    def workdir(self) -> Path:
        return self.root

    def client(self, socket_timeout: float = 5.0) -> redis.Redis:
        """A sync client (``bytes`` responses) with this server's credentials."""
        return super().client(socket_timeout)

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start (or restart, same port and data) and wait for ``PING``; fail the test if not."""
        try:
            super().start(timeout)
        except IocError as exc:
            pytest.fail(str(exc), pytrace=False)


@dataclass
class PrivateKafka:
    """A single-node KRaft broker of one test module, optionally SASL/SCRAM and/or TLS only.

    Args:
        workdir: Its own directory (configuration, data, log).
        jars: The local stack's Kafka jars (``<stack>/kafka/<version>/jars``).
        version: Kafka release of those jars.
        sasl_user, sasl_password: When set, the client listener is SASL_PLAINTEXT with
            SCRAM-SHA-256 and this credential (also used between broker and itself).
        tls: When set, the client listener is SSL (SASL_SSL with SASL) with these stores.
    """

    workdir: Path
    jars: Path
    version: str
    sasl_user: str | None = None
    sasl_password: str | None = None
    tls: KafkaTls | None = None
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    _argv: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "kafka.log"

    @property
    def protocol(self) -> str:
        """Security protocol of the client listener."""
        sasl, tls = self.sasl_password is not None, self.tls is not None
        return {(False, False): "PLAINTEXT", (True, False): "SASL_PLAINTEXT"}.get(
            (sasl, tls), "SASL_SSL" if sasl else "SSL"
        )

    def settings(self, password: str | None = None, **tls: Any) -> KafkaSettings:
        """Client settings of this broker (``password`` overrides the right one).

        Args:
            password: SASL password instead of the right one.
            **tls: ``ssl_cafile``/``ssl_certfile``/``ssl_keyfile`` instead of the right ones.
        """
        values: dict[str, Any] = {"bootstrap": self.bootstrap}
        if self.protocol != "PLAINTEXT":
            values["security_protocol"] = self.protocol
        if self.sasl_password is not None:
            values.update(
                sasl_mechanism="SCRAM-SHA-256",
                sasl_username=self.sasl_user,
                sasl_password=SecretStr(password or self.sasl_password),
            )
        if self.tls is not None:
            t = self.tls
            values.update(ssl_cafile=t.ca, ssl_certfile=t.client_cert, ssl_keyfile=t.client_key)
            values.update(tls)
        return KafkaSettings(**values)

    def env(self) -> dict[str, str]:
        """``IOC_KAFKA_*`` connection variables of this broker."""
        env = {"IOC_KAFKA_BOOTSTRAP": self.bootstrap}
        if self.protocol != "PLAINTEXT":
            env["IOC_KAFKA_SECURITY_PROTOCOL"] = self.protocol
        if self.sasl_password is not None:
            env.update(
                IOC_KAFKA_SASL_MECHANISM="SCRAM-SHA-256",
                IOC_KAFKA_SASL_USERNAME=str(self.sasl_user),
                IOC_KAFKA_SASL_PASSWORD=self.sasl_password,
            )
        if self.tls is not None:
            env["IOC_KAFKA_SSL_CAFILE"] = str(self.tls.ca)
            if self.tls.client_cert is not None and self.tls.client_key is not None:
                env["IOC_KAFKA_SSL_CERTFILE"] = str(self.tls.client_cert)
                env["IOC_KAFKA_SSL_KEYFILE"] = str(self.tls.client_key)
        return env

    def _properties(self, data_dir: Path) -> str:
        stack = StackSettings(
            dir=self.workdir,
            kafka_version=self.version,
            kafka_port=self.port,
            kafka_controller_port=self.controller_port,
        )
        text = render_server_properties(stack, data_dir)
        protocol = self.protocol
        if protocol == "PLAINTEXT":
            return text
        listener = f"{protocol}://127.0.0.1:{self.port}"
        replaced = {
            "listeners": f"{listener},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": listener,
            "listener.security.protocol.map": f"{protocol}:{protocol},CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": protocol,
        }
        lines = []
        for line in text.splitlines():
            name = line.partition("=")[0]
            lines.append(f"{name}={replaced[name]}" if name in replaced else line)
        if self.sasl_password is not None:
            jaas = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{self.sasl_user}" password="{self.sasl_password}";'
            )
            lines += [
                "sasl.enabled.mechanisms=SCRAM-SHA-256",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256",
                f"listener.name.{protocol.lower()}.scram-sha-256.sasl.jaas.config={jaas}",
            ]
        if self.tls is not None:
            t = self.tls
            lines += [
                "ssl.keystore.type=PKCS12",
                f"ssl.keystore.location={t.keystore}",
                f"ssl.keystore.password={t.store_password}",
                f"ssl.key.password={t.store_password}",
                "ssl.truststore.type=PKCS12",
                f"ssl.truststore.location={t.truststore}",
                f"ssl.truststore.password={t.store_password}",
                f"ssl.client.auth={t.client_auth}",
                "ssl.endpoint.identification.algorithm=https",
            ]
        return "\n".join([*lines, ""])

    def prepare(self) -> None:
        """Write the configuration and format the storage (once)."""
        java, _ = find_java_tools()
        kdir = self.workdir
        kdir.mkdir(parents=True, exist_ok=True)
        if not (kdir / "jars").exists():
            (kdir / "jars").symlink_to(self.jars, target_is_directory=True)
        data_dir = kdir / "data"
        (kdir / "server.properties").write_text(self._properties(data_dir), encoding="utf-8")
        log_name, log_prop, log_text = render_log_config(self.version)
        (kdir / log_name).write_text(log_text, encoding="utf-8")
        value = str(kdir / log_name)
        if kafka_major(self.version) < 4:
            value = f"file:{value}"
        log_opt = f"-D{log_prop}={value}"
        argv = [java, log_opt, "-cp", str(kdir / "jars" / "*"), "kafka.tools.StorageTool"]
        argv += ["format", "-t", new_cluster_id(), "-c", str(kdir / "server.properties")]
        if self.sasl_password is not None:
            argv += [
                "--add-scram",
                f"SCRAM-SHA-256=[name={self.sasl_user},password={self.sasl_password}]",
            ]
        with (kdir / "format.log").open("ab") as out:  # not kafka.log: argv holds the secret
            result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=120)
        if result.returncode != 0:
            pytest.fail(f"kafka StorageTool format failed:\n{tail(kdir / 'format.log')}")
        self._argv = kafka_argv(java, kdir, log_opt)

    def ready(self) -> bool:
        return kafka_ready(self.port, 3.0, self.settings())

    def start(self) -> None:
        if not self._argv:
            self.prepare()
        self.proc = spawn(self._argv, self.log, cwd=self.workdir)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"private Kafka broker did not start:\n{tail(self.log)}")
            time.sleep(0.2)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        stop(self.proc, sig, 60)


def stack_jars(stack_settings: StackSettings) -> Path:
    """The Kafka jars the local stack fetched (the ``stack`` fixture ensures they exist)."""
    root = stack_settings.dir.expanduser().resolve()
    jars = root / "kafka" / stack_settings.kafka_version / "jars"
    if not jars.is_dir():
        pytest.fail(f"no Kafka jars under {jars}; run `ioc stack up` first")
    return jars


@dataclass
class PrivatePipeline(Pipeline):
    """A :class:`Pipeline` on private servers: credentials, extra env, its own cwd.

    Subprocesses run in ``workdir`` (Faust's data directory lands there, not in the
    repository), with ``extra_env`` on top of the pipeline's variables.
    """

    redis_username: str | None = None
    redis_password: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    #: TLS files of a ``rediss://`` server (``IOC_REDIS_SSL_*`` and :meth:`redis`).
    redis_tls: TlsFiles | None = None

    def env(self) -> dict[str, str]:
        inherited = ("IOC_KAFKA_SASL", "IOC_KAFKA_SECURITY", "IOC_KAFKA_SSL", "IOC_REDIS_USER")
        env = {
            k: v
            for k, v in super().env().items()
            if not k.startswith((*inherited, "IOC_REDIS_SSL")) and k != "IOC_REDIS_PASSWORD"
        }
        if self.redis_password is not None:
            env["IOC_REDIS_USERNAME"] = str(self.redis_username)
            env["IOC_REDIS_PASSWORD"] = self.redis_password
        env.update({f"IOC_REDIS_{k.upper()}": v for k, v in self._redis_tls().items()})
        env.update(self.extra_env)
        return env

    def _redis_tls(self) -> dict[str, str]:
        """redis-py's ``ssl_*`` options of :attr:`redis_tls` (``IOC_REDIS_SSL_*`` settings)."""
        t = self.redis_tls
        if t is None:
            return {}
        options = {"ssl_ca_certs": str(t.ca)}
        if t.client_cert is not None and t.client_key is not None:
            options["ssl_certfile"] = str(t.client_cert)
            options["ssl_keyfile"] = str(t.client_key)
        return options

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*IOC, *args],
            env=self.env(),
            capture_output=True,
            timeout=timeout,
            check=True,
            cwd=self.workdir,
        )

    def run_unchecked(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*IOC, *args], env=self.env(), capture_output=True, timeout=timeout, cwd=self.workdir
        )

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        proc = spawn([*IOC, *args], self.workdir / log, env=self.env(), cwd=self.workdir)
        self.procs.append(proc)
        return proc

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.redis_url,
            username=self.redis_username,
            password=self.redis_password,
            socket_timeout=5.0,
            socket_connect_timeout=5.0,
            **self._redis_tls(),
        )

    def snapshot_counts(self) -> tuple[int, int, int]:
        """(processed, duplicate, rejected) as stored in Redis now."""
        client = self.redis()
        try:
            snap = read_snapshot(client, self.prefix, "event")
        finally:
            client.close()
        return snap.processed, snap.duplicate, sum(snap.rejected.values())

    def counted(self) -> int:
        return sum(self.snapshot_counts())

    def clean_redis(self) -> None:
        client = self.redis()
        try:
            delete_prefix(client, self.prefix)
        except redis.RedisError:
            pass  # a private server that is already stopped
        finally:
            client.close()

    def start_exporter(self, clock: str = "event", addr: str = "127.0.0.1") -> str:
        """Start ``ioc exporter`` and return its ``/metrics`` URL once it answers."""
        port = free_port()
        log = f"exporter-{port}.log"
        proc = self.start(
            "exporter", "--clock", clock, "--port", str(port), "--addr", addr, log=log
        )
        url = f"http://{addr}:{port}/metrics"
        deadline = time.monotonic() + 60
        while True:
            try:
                scrape(url)
                return url
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"exporter did not answer on {url}:\n{tail(self.workdir / log)}"
                    ) from None
                time.sleep(0.1)

    def logs_text(self) -> str:
        return "\n".join(
            p.name + ":\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.workdir.glob("*.log"))
        )


def scrape(url: str) -> str:
    """One GET of ``/metrics`` (never through a proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as resp:
        return str(resp.read().decode())


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 180) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout`` seconds.

    The deadline only bounds a hung test; no assertion depends on how fast things are.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.05)


def pipeline_equals_kpi(
    p: PrivatePipeline, log: Path, n: int, dlq_client: KafkaSettings
) -> subprocess.CompletedProcess[bytes]:
    """Run a worker and replay ``log`` (``n`` messages) through ``p``; check the result.

    Every exported series must equal ``ioc kpi`` on the log, and the worker's dead
    letters must be on the dead-letter topic, read with ``dlq_client``'s credentials.

    Returns:
        The finished ``ioc replay`` (its output is checked for secrets by the caller).
    """
    from kafka import KafkaConsumer

    p.start("worker", "--batch", "200", "--loglevel", "info", log="worker.log")
    replayed = p.run("replay", str(log), "--max", "--partitions", "3")
    p.wait_counted(n)
    got = samples(scrape(p.start_exporter("event")))
    expected = p.expected(log)
    assert any(line.startswith("ioc_on_time_ratio{") for line in expected)
    assert got == expected
    consumer = KafkaConsumer(
        f"{p.topic}.dlq",
        **client_options(dlq_client),
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        assert sum(1 for _ in consumer) > 0
    finally:
        consumer.close()
    return replayed
