"""TLS and SASL options are built from the settings; secrets never show in reprs.

Covers the three clients: kafka-python (``ioc replay``/``simulate``/``recover``:
:func:`services.publisher.client_options`), Faust/aiokafka (the worker:
``streams.app._broker_options``) and redis-py (worker and exporter, ``rediss://``).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import AuthProtocol
from redis.asyncio.connection import SSLConnection as AsyncSSLConnection
from redis.connection import SSLConnection

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.redis.client import connect, connect_async
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
            assert pool.connection_class is cls
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
