"""TLS and SASL options are built from the settings; secrets never show in reprs.

Covers the three clients: kafka-python (``ioc replay``/``simulate``/``recover``:
:func:`services.publisher.client_options`), Faust/aiokafka (the worker:
``streams.app._broker_options``) and redis-py (worker and exporter, ``rediss://``).
TLS contexts are checked by real handshakes in memory (``ssl.MemoryBIO``) or with a
loopback TLS server in a thread, with certificates made by ``openssl``.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import AuthProtocol
from redis.asyncio.connection import SSLConnection as AsyncSSLConnection
from redis.connection import SSLConnection

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.errors import ConfigError
from ioc_monitor.redis.client import (
    RedisTLSError,
    check_tls,
    connect,
    connect_async,
    connection_options,
)
from services.publisher import check_tls as check_kafka_tls
from services.publisher import client_options
from streams.app import _broker_options

SECRET = "Sup3r-Secret-Pw-0b7e"
#: A throw-away self-signed CA (EC P-256, no private key anywhere): only parsed.
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBkjCCATmgAwIBAgIUfUby0y9dLW+vXk/fyjrzbedbdIIwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTaW9jLW1vbml0b3IgdGVzdCBDQTAgFw0yNjExMjUxOTQzNTla
GA8yMTI2MTEwMTE5NDM1OVowHjEcMBoGA1UEAwwTaW9jLW1vbml0b3IgdGVzdCBD
QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGjJXzybeQRsu0jYO5Qx3fXk/ba+
Vpf1QdBrizb165kEqDsPgsrSdHO4eM9Z5+9eNdW2CBJCnJ9+n065zLNaC32jUzBR
MB0GA1UdDgQWBBTMrPSbcVRBbo3B/psKZDhAaEvfwzAfBgNVHSMEGDAWgBTMrPSb
cVRBbo3B/psKZDhAaEvfwzAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cA
MEQCICTxhMBQLWzztlcWl2f1dilexeLs9oDJbJ5YhmylWxF6AiAbNCR/PQr5gUhn
8Ju5kdH34w0eyu926q1IZcNkqCbcew==
-----END CERTIFICATE-----
"""


@pytest.fixture
def cafile(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text(CA_PEM, encoding="ascii")
    return path


def _kafka(**values: object) -> KafkaSettings:
    return KafkaSettings(bootstrap="b1:9093, b2:9093", **values)  # type: ignore[arg-type]


def _ca_subjects(ctx: ssl.SSLContext) -> list[str]:
    return [str(c.get("subject")) for c in ctx.get_ca_certs()]


# --- kafka-python (replay, simulate, recover) ------------------------------------------------


def test_plaintext_client_options() -> None:
    opts = client_options(_kafka())
    assert opts == {"bootstrap_servers": ["b1:9093", "b2:9093"], "security_protocol": "PLAINTEXT"}


def test_ssl_client_options_carry_the_ca_file(cafile: Path) -> None:
    opts = client_options(_kafka(security_protocol="SSL", ssl_cafile=cafile))
    assert opts["security_protocol"] == "SSL"
    assert opts["ssl_cafile"] == str(cafile)
    assert "sasl_mechanism" not in opts


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_sasl_client_options(protocol: str, mechanism: str, cafile: Path) -> None:
    settings = _kafka(
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_username="ioc",
        sasl_password=SECRET,
        ssl_cafile=cafile if protocol == "SASL_SSL" else None,
    )
    opts = client_options(settings)
    assert opts["security_protocol"] == protocol
    assert opts["sasl_mechanism"] == mechanism
    assert opts["sasl_plain_username"] == "ioc"
    assert opts["sasl_plain_password"] == SECRET
    assert ("ssl_cafile" in opts) == (protocol == "SASL_SSL")


def test_kafka_python_accepts_the_options(cafile: Path) -> None:
    """kafka-python validates its options when a client is configured (no connection)."""
    from kafka.producer.kafka import KafkaProducer

    settings = _kafka(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="ioc",
        sasl_password=SECRET,
        ssl_cafile=cafile,
    )
    unknown = set(client_options(settings)) - set(KafkaProducer.DEFAULT_CONFIG)
    assert not unknown


# --- Faust / aiokafka (the worker) -------------------------------------------------------------


def test_worker_plaintext_has_no_credentials() -> None:
    assert _broker_options(_kafka()) == {}


def test_worker_ssl_uses_the_ca_file(cafile: Path) -> None:
    creds = _broker_options(_kafka(security_protocol="SSL", ssl_cafile=cafile))[
        "broker_credentials"
    ]
    assert isinstance(creds, SSLCredentials)
    assert creds.protocol == AuthProtocol.SSL
    assert creds.context.verify_mode == ssl.CERT_REQUIRED
    assert any("ioc-monitor test CA" in s for s in _ca_subjects(creds.context))


def test_worker_sasl_ssl(cafile: Path) -> None:
    settings = _kafka(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="ioc",
        sasl_password=SECRET,
        ssl_cafile=cafile,
    )
    creds = _broker_options(settings)["broker_credentials"]
    assert isinstance(creds, SASLCredentials)
    assert creds.protocol == AuthProtocol.SASL_SSL
    assert creds.mechanism.value == "SCRAM-SHA-512"
    assert (creds.username, creds.password) == ("ioc", SECRET)
    assert creds.ssl_context is not None
    assert any("ioc-monitor test CA" in s for s in _ca_subjects(creds.ssl_context))
    assert SECRET not in repr(creds)


def test_worker_sasl_plaintext() -> None:
    settings = _kafka(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="ioc",
        sasl_password=SECRET,
    )
    creds = _broker_options(settings)["broker_credentials"]
    assert isinstance(creds, SASLCredentials)
    assert creds.protocol == AuthProtocol.SASL_PLAINTEXT
    assert creds.mechanism.value == "SCRAM-SHA-256"
    assert creds.ssl_context is None


def test_worker_aiokafka_auth_options(cafile: Path) -> None:
    """What Faust hands to aiokafka for the consumer and the dead-letter producer."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    settings = _kafka(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="ioc",
        sasl_password=SECRET,
        ssl_cafile=cafile,
    )
    auth = credentials_to_aiokafka_auth(_broker_options(settings)["broker_credentials"])
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("ioc", SECRET)
    assert isinstance(auth["ssl_context"], ssl.SSLContext)


# --- redis-py (worker and exporter) ------------------------------------------------------------


def test_rediss_url_gives_tls_connections(cafile: Path) -> None:
    settings = RedisSettings(
        url=f"rediss://cache.example:6380/2?ssl_ca_certs={cafile}",
        username="ioc",
        password=SECRET,  # type: ignore[arg-type]
    )
    sync_client = connect(settings)
    async_client = connect_async(settings)
    try:
        for client, cls in ((sync_client, SSLConnection), (async_client, AsyncSSLConnection)):
            pool = client.connection_pool
            assert issubclass(pool.connection_class, cls)
            kwargs = pool.connection_kwargs
            assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache.example", 6380, 2)
            assert (kwargs["username"], kwargs["password"]) == ("ioc", SECRET)
            assert kwargs["ssl_ca_certs"] == str(cafile)
            assert SECRET not in repr(client)
    finally:
        sync_client.close()


def test_redis_plain_url_is_not_tls() -> None:
    client = connect(RedisSettings(url="redis://127.0.0.1:1/0"))
    try:
        assert client.connection_pool.connection_class is not SSLConnection
    finally:
        client.close()


def test_settings_never_show_secrets() -> None:
    kafka = _kafka(security_protocol="SASL_SSL", sasl_username="ioc", sasl_password=SECRET)
    redis_settings = RedisSettings(password=SECRET)  # type: ignore[arg-type]
    for text in (repr(kafka), str(kafka), repr(redis_settings), str(redis_settings)):
        assert SECRET not in text


# --- TLS files: CA bundle and client certificate -------------------------------------------


@dataclass(frozen=True)
class Certs:
    """A CA, a server certificate for 127.0.0.1, a client certificate, an unrelated CA."""

    root: Path

    def __getattr__(self, name: str) -> Path:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.root / name.replace("_", ".")


def _openssl(root: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True, timeout=60)


def _make_certs(root: Path) -> Certs:
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    for ca in ("ca", "wrong"):
        _openssl(
            root,
            *("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2"),
            *("-subj", f"/CN=ioc {ca} CA", "-addext", "basicConstraints=critical,CA:TRUE"),
        )
    for leaf, ext in (
        ("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (root / f"{leaf}.ext").write_text(ext + "\n", encoding="ascii")
        _openssl(
            root, "req", *ec, "-keyout", f"{leaf}.key", "-out", f"{leaf}.csr", "-subj", "/CN=x"
        )
        _openssl(
            root,
            *("x509", "-req", "-in", f"{leaf}.csr", "-CA", "ca.pem", "-CAkey", "ca.key"),
            *("-CAcreateserial", "-days", "2", "-out", f"{leaf}.pem", "-extfile", f"{leaf}.ext"),
        )
    return Certs(root)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return _make_certs(tmp_path_factory.mktemp("certs"))


def _server_context(certs: Certs) -> ssl.SSLContext:
    """A TLS server for 127.0.0.1 requiring a client certificate signed by the CA."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs.ca_pem))
    ctx.load_cert_chain(str(certs.server_pem), str(certs.server_key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> dict[str, object]:
    """A TLS handshake in memory; returns the certificate the server got from the client."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname="127.0.0.1")
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {c: False, s: False}
    for _ in range(20):
        for obj in (c, s):
            if not done[obj]:
                try:
                    obj.do_handshake()
                    done[obj] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return dict(s.getpeercert() or {})
    raise AssertionError("handshake did not finish")


def _tls_kafka(certs: Certs, ca: Path | None = None, client: bool = True) -> KafkaSettings:
    return _kafka(
        security_protocol="SSL",
        ssl_cafile=ca or certs.ca_pem,
        ssl_certfile=certs.client_pem if client else None,
        ssl_keyfile=certs.client_key if client else None,
    )


def test_client_options_carry_the_client_certificate(certs: Certs) -> None:
    from kafka.producer.kafka import KafkaProducer

    opts = client_options(_tls_kafka(certs))
    assert opts["ssl_cafile"] == str(certs.ca_pem)
    assert opts["ssl_certfile"] == str(certs.client_pem)
    assert opts["ssl_keyfile"] == str(certs.client_key)
    assert not set(opts) - set(KafkaProducer.DEFAULT_CONFIG)
    assert "ssl_certfile" not in client_options(_tls_kafka(certs, client=False))


def test_worker_context_presents_the_client_certificate(certs: Certs) -> None:
    creds = _broker_options(_tls_kafka(certs))["broker_credentials"]
    peer = _handshake(creds.context, _server_context(certs))
    assert peer["subject"] == ((("commonName", "x"),),)
    assert creds.context.check_hostname and creds.context.verify_mode == ssl.CERT_REQUIRED


def test_worker_context_names_the_ca_setting_when_the_broker_is_not_trusted(
    certs: Certs,
) -> None:
    creds = _broker_options(_tls_kafka(certs, ca=certs.wrong_pem))["broker_credentials"]
    with pytest.raises(ssl.SSLCertVerificationError, match="IOC_KAFKA_SSL_CAFILE") as info:
        _handshake(creds.context, _server_context(certs))
    assert info.value.verify_message  # still a verification error, with its reason


def test_redis_tls_options(certs: Certs) -> None:
    settings = RedisSettings(
        url="rediss://127.0.0.1:6380/0",
        ssl_ca_certs=certs.ca_pem,
        ssl_certfile=certs.client_pem,
        ssl_keyfile=certs.client_key,
    )
    opts = connection_options(settings)
    assert opts["ssl_cert_reqs"] == "required"
    assert (opts["ssl_ca_certs"], opts["ssl_certfile"], opts["ssl_keyfile"]) == (
        str(certs.ca_pem),
        str(certs.client_pem),
        str(certs.client_key),
    )
    assert not any(k.startswith("ssl") for k in connection_options(RedisSettings()))
    client = connect(settings)
    try:
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["ssl_certfile"] == str(certs.client_pem)
    finally:
        client.close()


def test_redis_cluster_clients_accept_the_tls_options(certs: Certs) -> None:
    import redis.asyncio.cluster
    from redis.cluster import REDIS_ALLOWED_KEYS

    settings = RedisSettings(
        url="rediss://127.0.0.1:6380",
        cluster=True,
        ssl_ca_certs=certs.ca_pem,
        ssl_certfile=certs.client_pem,
        ssl_keyfile=certs.client_key,
    )
    opts = connection_options(settings)
    assert not set(opts) - set(REDIS_ALLOWED_KEYS)
    redis.asyncio.cluster.RedisCluster.from_url(settings.url, **opts)  # no connection yet


@pytest.fixture
def tls_server(certs: Certs) -> Iterator[int]:
    """A loopback TLS server (this CA's certificate): reads one request, answers ``+PONG``."""
    ctx = _server_context(certs)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(64)
                    tls.sendall(b"+PONG\r\n")
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=10)
    listener.close()


def test_kafka_tls_check(certs: Certs, tls_server: int) -> None:
    bootstrap = f"127.0.0.1:{tls_server}"
    check_kafka_tls(_tls_kafka(certs).model_copy(update={"bootstrap": bootstrap}))
    wrong = _tls_kafka(certs, ca=certs.wrong_pem).model_copy(update={"bootstrap": bootstrap})
    with pytest.raises(ConfigError, match=r"not trusted.*IOC_KAFKA_SSL_CAFILE"):
        check_kafka_tls(wrong)
    check_kafka_tls(_kafka())  # PLAINTEXT: nothing to check
    check_kafka_tls(wrong.model_copy(update={"bootstrap": "127.0.0.1:1"}))  # not answering


def test_redis_tls_check(certs: Certs, tls_server: int) -> None:
    # (the right CA against a real Redis: tests/integration/test_tls.py)
    wrong = RedisSettings(url=f"rediss://127.0.0.1:{tls_server}/0", ssl_ca_certs=certs.wrong_pem)
    with pytest.raises(ConfigError, match=r"not trusted.*IOC_REDIS_SSL_CA_CERTS"):
        check_tls(wrong)
    with pytest.raises(ConfigError, match="IOC_REDIS_SSL_CA_CERTS"):
        connect_async(wrong)  # the worker's client checks first
    client = connect(wrong, retries=0)
    try:
        with pytest.raises(RedisTLSError, match="IOC_REDIS_SSL_CA_CERTS"):
            client.ping()  # the exporter's client: a named ConnectionError
    finally:
        client.close()
    check_tls(RedisSettings(url="redis://127.0.0.1:1/0"))  # plain: nothing to check
    check_tls(wrong.model_copy(update={"url": "rediss://127.0.0.1:1/0"}))  # not answering
