"""TLS for real: the pipeline over a TLS-only Kafka listener and a TLS-only Redis.

A throw-away PKI is made per module with ``openssl`` (CA, a certificate for 127.0.0.1,
a client certificate, an unrelated CA) and ``keytool`` (the broker's truststore). The
private broker's only client listener is SSL (PKCS12 keystore, client certificates
required); the private Redis serves TLS only (``port 0``, ``tls-port``, client
certificates required). Every client of the project verifies the server's certificate
and host name and presents the client certificate of ``IOC_*_SSL_CERTFILE``.

- worker (aiokafka + asyncio redis-py) and exporter (sync redis-py) over TLS give every
  series ``ioc kpi`` gives for the same log; ``ioc replay`` (kafka-python) produces
  over SSL;
- a wrong CA fails fast (bounded time) naming the setting: ``ioc replay`` and the
  worker stop with one line naming ``IOC_KAFKA_SSL_CAFILE`` / ``IOC_REDIS_SSL_CA_CERTS``;
  the exporter keeps answering ``ioc_exporter_redis_up 0`` and logs the TLS failure;
- no password or private-key text appears in any log or output.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from ioc_monitor.config import StackSettings
from services.harness import TlsFiles
from services.stack.control import ServiceStatus
from services.stack.proc import tail
from tests.integration.pipeline import samples
from tests.integration.private_stack import (
    KafkaTls,
    PrivateKafka,
    PrivatePipeline,
    PrivateRedis,
    pipeline_equals_kpi,
    scrape,
    stack_jars,
    wait_for,
)

pytestmark = pytest.mark.integration

STORE_PASSWORD = "Store-Pw-6f3a1kQ-heron"
#: Bound on a run that must fail fast: far below any hang (start-up included).
FAIL_FAST_S = 60.0


# --- a throw-away PKI ----------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """The files of :func:`make_pki` (all under ``root``)."""

    root: Path

    def __getattr__(self, name: str) -> Path:
        files = {
            "ca": "ca.pem",
            "wrong_ca": "wrong-ca.pem",
            "server_cert": "server.pem",
            "server_key": "server.key",
            "client_cert": "client.pem",
            "client_key": "client.key",
            "keystore": "broker.p12",
            "truststore": "trust.p12",
        }
        if name not in files:
            raise AttributeError(name)
        return self.root / files[name]

    def redis_files(self) -> TlsFiles:
        return TlsFiles(
            self.ca, self.server_cert, self.server_key, self.client_cert, self.client_key
        )

    def kafka_tls(self) -> KafkaTls:
        return KafkaTls(
            self.keystore,
            self.truststore,
            STORE_PASSWORD,
            self.ca,
            self.client_cert,
            self.client_key,
        )

    def secrets(self) -> list[bytes]:
        """Text that must never be logged: the stores' password, every private key line."""
        lines = [STORE_PASSWORD.encode(), b"PRIVATE KEY"]
        for key in self.root.glob("*.key"):
            lines += [x for x in key.read_bytes().splitlines() if x and b"-----" not in x]
        return lines


def _tool(root: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
    with (root / "pki.log").open("ab") as out:
        done = subprocess.run(argv, cwd=root, stdout=out, stderr=out, env=env, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{argv[0]} {argv[1]} failed:\n{tail(root / 'pki.log')}")


def _ec_key_args(key: str) -> list[str]:
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key]


def _ca(root: Path, name: str, cn: str) -> None:
    _tool(
        root,
        [
            *("openssl", "req", "-x509", *_ec_key_args(f"{name}.key"), "-out", f"{name}.pem"),
            *("-days", "2", "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ],
    )


def _leaf(root: Path, name: str, cn: str, ext: str) -> None:
    (root / f"{name}.ext").write_text(f"{ext}\nbasicConstraints=CA:FALSE\n", encoding="ascii")
    _tool(
        root,
        [
            "openssl",
            "req",
            *_ec_key_args(f"{name}.key"),
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={cn}",
        ],
    )
    _tool(
        root,
        [
            *("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key"),
            *("-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext"),
        ],
    )


def make_pki(root: Path) -> Pki:
    """A CA, a certificate for 127.0.0.1, a client certificate, an unrelated CA, stores.

    EC P-256 keys valid two days. The broker's keystore (its key and chain) is PKCS12 by
    ``openssl pkcs12``, its truststore (the CA, for client certificates) PKCS12 by
    ``keytool``; their password goes through the environment, never an argument.
    """
    root.mkdir(parents=True, exist_ok=True)
    _ca(root, "ca", "ioc-monitor TLS test CA")
    _ca(root, "wrong-ca", "ioc-monitor unrelated CA")
    san = "subjectAltName=IP:127.0.0.1,DNS:localhost"
    _leaf(root, "server", "127.0.0.1", f"{san}\nextendedKeyUsage=serverAuth,clientAuth")
    _leaf(root, "client", "ioc-client", "extendedKeyUsage=clientAuth")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "STORE_PW": STORE_PASSWORD}
    _tool(
        root,
        [
            *("openssl", "pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key"),
            *("-certfile", "ca.pem", "-name", "broker", "-out", "broker.p12"),
            *("-passout", "env:STORE_PW"),
        ],
        env,
    )
    _tool(
        root,
        [
            *("keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem"),
            *("-keystore", "trust.p12", "-storetype", "PKCS12", "-storepass:env", "STORE_PW"),
        ],
        env,
    )
    return Pki(root)


# --- servers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_kafka(
    stack: list[ServiceStatus],
    stack_settings: StackSettings,
    tmp_path_factory: pytest.TempPathFactory,
    pki: Pki,
) -> Iterator[PrivateKafka]:
    broker = PrivateKafka(
        tmp_path_factory.mktemp("kafka-tls"),
        stack_jars(stack_settings),
        stack_settings.kafka_version,
        tls=pki.kafka_tls(),
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def tls_redis(tmp_path: Path, pki: Pki) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis", tls=pki.redis_files(), tls_auth_clients="yes")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _pipeline(
    name: str, kafka: PrivateKafka, redis_server: PrivateRedis, workdir: Path, **env: str
) -> PrivatePipeline:
    return PrivatePipeline(
        name,
        kafka.bootstrap,
        redis_server.url,
        workdir,
        extra_env={**kafka.env(), **env},
        redis_tls=redis_server.tls,
    )


@pytest.fixture
def tls_pipeline(
    tls_kafka: PrivateKafka, tls_redis: PrivateRedis, unique_name: str, tmp_path: Path
) -> Iterator[PrivatePipeline]:
    p = _pipeline(unique_name, tls_kafka, tls_redis, tmp_path)
    try:
        yield p
    finally:
        p.stop()


def _simulate(p: PrivatePipeline, seed: int, dossiers: int) -> tuple[Path, int]:
    log = p.workdir / "events.jsonl"
    p.run(
        *("simulate", "--seed", str(seed), "--dossiers", str(dossiers)),
        *("--noise", "0.05", "--out", str(log)),
    )
    return log, sum(1 for line in log.read_bytes().split(b"\n") if line)


def _assert_no_secrets(pki: Pki, texts: list[tuple[str, bytes]]) -> None:
    assert texts
    for what, text in texts:
        for secret in pki.secrets():
            assert secret not in text, f"{secret[:12]!r}... found in {what}"


def _logs(*dirs: Path) -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes()) for d in dirs for p in sorted(d.rglob("*.log"))]


def _outputs(what: str, done: subprocess.CompletedProcess[bytes]) -> list[tuple[str, bytes]]:
    return [(f"{what} stdout", done.stdout), (f"{what} stderr", done.stderr)]


# --- the pipeline over TLS -----------------------------------------------------------------


def test_pipeline_over_tls(
    tls_pipeline: PrivatePipeline, tls_kafka: PrivateKafka, tls_redis: PrivateRedis, pki: Pki
) -> None:
    p = tls_pipeline
    plain = redis.Redis(port=tls_redis.port, socket_timeout=5)
    with pytest.raises(redis.ConnectionError):
        plain.ping()  # TLS only: no plain-TCP listener
    plain.close()
    log, n = _simulate(p, seed=81, dossiers=300)
    # every series equals `ioc kpi`; the dead letters went out through the TLS producer
    outputs = _outputs("replay", pipeline_equals_kpi(p, log, n, tls_kafka.settings()))
    p.stop()
    # after `ioc recover`, `ioc backfill` (bare aiokafka over TLS) rebuilds the same series
    outputs += _outputs("recover", p.run("recover", "--yes"))
    outputs += _outputs("backfill", p.run("backfill", "--no-progress"))
    assert samples(scrape(p.start_exporter("event"))) == p.expected(log)
    p.stop()
    _assert_no_secrets(pki, outputs + _logs(p.workdir, tls_kafka.workdir))


# --- a wrong CA fails fast, naming the setting ---------------------------------------------


def _fails_fast(p: PrivatePipeline, *args: str) -> tuple[str, subprocess.CompletedProcess[bytes]]:
    """Run a command that must fail within :data:`FAIL_FAST_S`; its stderr's last line."""
    start = time.monotonic()
    done = p.run_unchecked(*args, timeout=FAIL_FAST_S)
    assert done.returncode != 0, done.stderr.decode(errors="replace")[-2000:]
    assert time.monotonic() - start < FAIL_FAST_S
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    return (lines[-1] if lines else ""), done


def test_wrong_ca_fails_fast_and_names_the_setting(
    tls_kafka: PrivateKafka,
    tls_redis: PrivateRedis,
    pki: Pki,
    unique_name: str,
    tmp_path: Path,
) -> None:
    texts: list[tuple[str, bytes]] = []
    right = _pipeline(unique_name, tls_kafka, tls_redis, tmp_path)
    log, _ = _simulate(right, seed=82, dossiers=30)
    wrong_kafka = _pipeline(
        unique_name, tls_kafka, tls_redis, tmp_path, IOC_KAFKA_SSL_CAFILE=str(pki.wrong_ca)
    )
    wrong_redis = _pipeline(
        unique_name, tls_kafka, tls_redis, tmp_path, IOC_REDIS_SSL_CA_CERTS=str(pki.wrong_ca)
    )
    try:
        # ioc replay (kafka-python): one line naming the CA setting, not a 30 s time-out
        line, done = _fails_fast(wrong_kafka, "replay", str(log), "--partitions", "3")
        texts += _outputs("replay (wrong CA)", done)
        assert line.startswith("ioc replay: error: TLS to Kafka at 127.0.0.1:")
        assert "IOC_KAFKA_SSL_CAFILE" in line and "not trusted" in line
        # ... and without the client certificate the broker requires: names those settings
        no_cert = _pipeline(unique_name, tls_kafka, tls_redis, tmp_path)
        no_cert.extra_env = {
            k: v for k, v in no_cert.extra_env.items() if "CERTFILE" not in k and "KEYFILE" not in k
        }
        line, done = _fails_fast(no_cert, "replay", str(log))
        texts += _outputs("replay (no client certificate)", done)
        assert "IOC_KAFKA_SSL_CERTFILE" in line, line
        # the worker (aiokafka): exits, its log names the CA setting
        line, done = _fails_fast(wrong_kafka, "worker", "--loglevel", "info")
        texts += _outputs("worker (wrong Kafka CA)", done)
        assert b"CERTIFICATE_VERIFY_FAILED" in done.stderr
        assert b"check IOC_KAFKA_SSL_CAFILE" in done.stderr
        # the worker (redis-py asyncio): stops at start-up with one line naming the setting
        right.run("replay", str(log), "--partitions", "3", "--no-progress")
        line, done = _fails_fast(wrong_redis, "worker", "--loglevel", "info")
        texts += _outputs("worker (wrong Redis CA)", done)
        assert line.startswith("ioc worker: error: TLS to Redis at 127.0.0.1:"), line
        assert "IOC_REDIS_SSL_CA_CERTS" in line and "not trusted" in line
        # the exporter keeps answering, with redis_up 0, and logs the TLS failure
        url = wrong_redis.start_exporter("event")
        assert "ioc_exporter_redis_up 0.0" in scrape(url).splitlines()
        exporter_log = next(tmp_path.glob("exporter-*.log"))
        wait_for(lambda: b"RedisTLSError" in exporter_log.read_bytes(), "the exporter's log")
        assert wrong_redis.procs[-1].poll() is None
    finally:
        wrong_redis.stop()
    _assert_no_secrets(pki, texts + _logs(tmp_path, tls_kafka.workdir))
