"""Every ``IOC_*`` value is validated at start-up: a bad one names the variable and why."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ioc_monitor.config import (
    ExporterSettings,
    KafkaSettings,
    RedisSettings,
    StackSettings,
    UnitsSettings,
    load,
)
from ioc_monitor.errors import ConfigError
from services.ops.grafana import GrafanaSettings

BAD = [
    (RedisSettings, "IOC_REDIS_URL", "notaurl", "redis://, rediss:// or unix://"),
    (RedisSettings, "IOC_REDIS_URL", "http://127.0.0.1:6379/0", "redis://, rediss:// or unix://"),
    (RedisSettings, "IOC_REDIS_URL", "redis://127.0.0.1:99999/0", "port must be 1-65535"),
    (RedisSettings, "IOC_REDIS_URL", "redis://127.0.0.1:0/0", "port must be 1-65535"),
    (RedisSettings, "IOC_REDIS_URL", "redis:///0", "no host"),
    (RedisSettings, "IOC_REDIS_URL", "redis://127.0.0.1:6379/x", "must be a number"),
    (RedisSettings, "IOC_REDIS_URL", "unix://", "socket path"),
    (RedisSettings, "IOC_REDIS_SOCKET_TIMEOUT", "0", "greater than 0"),
    (RedisSettings, "IOC_REDIS_PREFIX", "has space", "should match pattern"),
    (KafkaSettings, "IOC_KAFKA_BOOTSTRAP", "localhost", "must be host:port"),
    (KafkaSettings, "IOC_KAFKA_BOOTSTRAP", "a:1,,b:2", "host:port[,host:port...]"),
    (KafkaSettings, "IOC_KAFKA_BOOTSTRAP", "kafka:70000", "port must be 1-65535"),
    (KafkaSettings, "IOC_KAFKA_BOOTSTRAP", "bad_host!:9092", "not a host name"),
    (KafkaSettings, "IOC_KAFKA_TOPIC", "a/b", "1-249 characters"),
    (KafkaSettings, "IOC_KAFKA_DLQ_TOPIC", "", "1-249 characters"),
    (KafkaSettings, "IOC_KAFKA_SSL_CAFILE", "/no/such/ca.pem", "no such file"),
    (KafkaSettings, "IOC_KAFKA_SSL_CERTFILE", "/no/such/client.pem", "no such file"),
    (KafkaSettings, "IOC_KAFKA_SSL_KEYFILE", "/no/such/client.key", "no such file"),
    (RedisSettings, "IOC_REDIS_SSL_CA_CERTS", "/no/such/ca.pem", "no such file"),
    (RedisSettings, "IOC_REDIS_SSL_CERTFILE", "/no/such/client.pem", "no such file"),
    (RedisSettings, "IOC_REDIS_SSL_KEYFILE", "/no/such/client.key", "no such file"),
    (KafkaSettings, "IOC_KAFKA_SECURITY_PROTOCOL", "TLS", "Input should be"),
    (ExporterSettings, "IOC_EXPORTER_PORT", "0", "greater than or equal to 1"),
    (ExporterSettings, "IOC_EXPORTER_PORT", "http", "valid integer"),
    (ExporterSettings, "IOC_EXPORTER_ADDR", "not an addr", "not a host name"),
    (ExporterSettings, "IOC_EXPORTER_CLOCK", "now", "Input should be"),
    (UnitsSettings, "IOC_UNITS_FILE", "/no/such/units.yaml", "no such file"),
    (StackSettings, "IOC_STACK_REDIS_PORT", "65536", "less than or equal to 65535"),
    (StackSettings, "IOC_STACK_KAFKA_VERSION", "latest", "should match pattern"),
    (GrafanaSettings, "IOC_GRAFANA_URL", "grafana:3000", "http:// or https://"),
]


@pytest.mark.parametrize(
    ("model", "var", "value", "reason"), BAD, ids=[b[1] + "=" + b[2] for b in BAD]
)
def test_a_bad_value_names_the_variable_and_the_reason(
    monkeypatch: pytest.MonkeyPatch, model: type, var: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load(model)
    assert f"{var}: " in str(info.value)
    assert reason in str(info.value)


def test_sasl_without_credentials_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ConfigError, match="IOC_KAFKA_SASL_USERNAME and IOC_KAFKA_SASL_PASSWORD"):
        load(KafkaSettings)


def test_dead_letters_need_their_own_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_KAFKA_DLQ_TOPIC", "dossier-events")
    with pytest.raises(ConfigError, match="IOC_KAFKA_DLQ_TOPIC must differ"):
        load(KafkaSettings)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("IOC_REDIS_URL", "rediss://user@redis.example.org:6380/3"),
        ("IOC_REDIS_URL", "redis://[::1]:6379"),
        ("IOC_REDIS_URL", "unix:///run/redis/redis.sock"),
        ("IOC_KAFKA_BOOTSTRAP", "kafka-1.example:9092, 10.0.0.2:9093"),
        ("IOC_EXPORTER_ADDR", "0.0.0.0"),
        ("IOC_GRAFANA_URL", "https://grafana.example.org"),
    ],
)
def test_good_values_pass(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    model = {
        "REDIS": RedisSettings,
        "KAFKA": KafkaSettings,
        "EXPORTER": ExporterSettings,
        "GRAFANA": GrafanaSettings,
    }[var.split("_")[1]]
    load(model)


def test_readable_file_passes(monkeypatch: pytest.MonkeyPatch, pem: Pem) -> None:
    monkeypatch.setenv("IOC_KAFKA_SECURITY_PROTOCOL", "SSL")  # a CA file needs TLS
    monkeypatch.setenv("IOC_KAFKA_SSL_CAFILE", str(pem.cert))
    assert load(KafkaSettings).ssl_cafile == pem.cert


# --- TLS files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pem:
    """A self-signed certificate, its key, the same key encrypted, an unrelated key."""

    cert: Path
    key: Path
    encrypted_key: Path
    other_key: Path


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> Pem:
    root = tmp_path_factory.mktemp("pem")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    for name in ("self", "other"):
        subprocess.run(
            [
                *("openssl", "req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.pem"),
                *("-days", "2", "-subj", "/CN=ioc test", "-addext", "basicConstraints=CA:TRUE"),
            ],
            cwd=root,
            check=True,
            capture_output=True,
            timeout=60,
        )
    subprocess.run(
        [
            *("openssl", "pkey", "-in", "self.key", "-aes-256-cbc"),
            *("-passout", "pass:Key-Pw-31x", "-out", "enc.key"),
        ],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Pem(root / "self.pem", root / "self.key", root / "enc.key", root / "other.key")


def _env(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))


def test_tls_settings_load(monkeypatch: pytest.MonkeyPatch, pem: Pem) -> None:
    _env(
        monkeypatch,
        IOC_REDIS_URL="rediss://redis.example:6380/0",
        IOC_REDIS_SSL_CA_CERTS=pem.cert,
        IOC_REDIS_SSL_CERTFILE=pem.cert,
        IOC_REDIS_SSL_KEYFILE=pem.key,
        IOC_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        IOC_KAFKA_SASL_USERNAME="ioc",
        IOC_KAFKA_SASL_PASSWORD="pw",
        IOC_KAFKA_SSL_CAFILE=pem.cert,
        IOC_KAFKA_SSL_CERTFILE=pem.cert,
        IOC_KAFKA_SSL_KEYFILE=pem.key,
    )
    redis_settings = load(RedisSettings)
    assert (redis_settings.ssl_ca_certs, redis_settings.ssl_keyfile) == (pem.cert, pem.key)
    kafka = load(KafkaSettings)
    assert (kafka.ssl_cafile, kafka.ssl_certfile, kafka.ssl_keyfile) == (
        pem.cert,
        pem.cert,
        pem.key,
    )


def test_tls_files_default_to_none() -> None:
    redis_settings, kafka = RedisSettings(), KafkaSettings()
    assert redis_settings.ssl_ca_certs is redis_settings.ssl_certfile is None
    assert redis_settings.ssl_keyfile is None
    assert kafka.ssl_cafile is kafka.ssl_certfile is kafka.ssl_keyfile is None


@pytest.mark.parametrize(
    ("values", "names"),
    [
        (
            {"IOC_REDIS_URL": "redis://127.0.0.1:6379/0"},
            ["IOC_REDIS_SSL_CA_CERTS", "IOC_REDIS_URL"],
        ),
        ({"IOC_REDIS_URL": "unix:///run/redis.sock"}, ["IOC_REDIS_SSL_CA_CERTS", "IOC_REDIS_URL"]),
        ({}, ["IOC_REDIS_SSL_CA_CERTS", "IOC_REDIS_URL", "redis://"]),  # the default URL
    ],
)
def test_a_redis_ca_without_tls_names_both_variables(
    monkeypatch: pytest.MonkeyPatch, pem: Pem, values: dict[str, str], names: list[str]
) -> None:
    _env(monkeypatch, IOC_REDIS_SSL_CA_CERTS=pem.cert, **values)
    with pytest.raises(ConfigError) as info:
        load(RedisSettings)
    assert all(name in str(info.value) for name in names), info.value
    assert "need TLS" in str(info.value)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_a_kafka_ca_without_tls_names_both_variables(
    monkeypatch: pytest.MonkeyPatch, pem: Pem, protocol: str
) -> None:
    _env(
        monkeypatch,
        IOC_KAFKA_SECURITY_PROTOCOL=protocol,
        IOC_KAFKA_SASL_USERNAME="ioc",
        IOC_KAFKA_SASL_PASSWORD="pw",
        IOC_KAFKA_SSL_CAFILE=pem.cert,
    )
    with pytest.raises(ConfigError) as info:
        load(KafkaSettings)
    message = str(info.value)
    assert "IOC_KAFKA_SSL_CAFILE" in message and "IOC_KAFKA_SECURITY_PROTOCOL" in message
    assert protocol in message


@pytest.mark.parametrize(
    ("model", "env"),
    [
        (RedisSettings, {"IOC_REDIS_URL": "rediss://127.0.0.1:6380/0"}),
        (KafkaSettings, {"IOC_KAFKA_SECURITY_PROTOCOL": "SSL"}),
    ],
)
@pytest.mark.parametrize("given", ["SSL_CERTFILE", "SSL_KEYFILE"])
def test_client_certificate_and_key_go_together(
    monkeypatch: pytest.MonkeyPatch, pem: Pem, model: type, env: dict[str, str], given: str
) -> None:
    prefix = model.model_config["env_prefix"]
    _env(monkeypatch, **env, **{prefix + given: pem.cert if "CERT" in given else pem.key})
    with pytest.raises(ConfigError, match=f"{prefix}SSL_CERTFILE and {prefix}SSL_KEYFILE"):
        load(model)


@pytest.mark.parametrize(
    ("model", "env"),
    [
        (RedisSettings, {"IOC_REDIS_URL": "rediss://127.0.0.1:6380/0"}),
        (KafkaSettings, {"IOC_KAFKA_SECURITY_PROTOCOL": "SSL"}),
    ],
)
def test_tls_files_are_parsed_at_start_up(
    monkeypatch: pytest.MonkeyPatch, pem: Pem, model: type, env: dict[str, str]
) -> None:
    prefix = model.model_config["env_prefix"]
    ca = prefix + ("SSL_CA_CERTS" if model is RedisSettings else "SSL_CAFILE")
    _env(monkeypatch, **env, **{ca: pem.key})  # a key, not a certificate
    with pytest.raises(ConfigError, match=f"{ca}: .* holds no PEM certificate"):
        load(model)
    monkeypatch.delenv(ca)
    for key, reason in ((pem.other_key, "KEY_VALUES_MISMATCH"), (pem.encrypted_key, "")):
        _env(monkeypatch, **{prefix + "SSL_CERTFILE": pem.cert, prefix + "SSL_KEYFILE": key})
        with pytest.raises(ConfigError) as info:
            load(model)  # an encrypted key is refused, never prompted for
        message = str(info.value)
        assert f"{prefix}SSL_CERTFILE and {prefix}SSL_KEYFILE" in message, message
        assert "unencrypted private key" in message and reason in message
        assert "PRIVATE KEY" not in message


def test_the_command_stops_with_one_line_not_a_traceback() -> None:
    env = dict(os.environ, IOC_REDIS_URL="notaurl")
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "exporter", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "ioc exporter: error: invalid RedisSettings: IOC_REDIS_URL: must be a redis://, "
        "rediss:// or unix:// URL, got 'notaurl'"
    ]
