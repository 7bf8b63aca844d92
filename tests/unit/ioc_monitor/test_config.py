"""Every ``IOC_*`` value is validated at start-up: a bad one names the variable and why."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_readable_file_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    monkeypatch.setenv("IOC_KAFKA_SSL_CAFILE", str(ca))
    assert load(KafkaSettings).ssl_cafile == ca


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
