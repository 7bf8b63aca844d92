"""Settings, one frozen model per external system, read from ``IOC_*`` environment variables.

Nothing is read at import time: call the ``load_*`` helpers (or instantiate the models)
when a command starts. Invalid values raise :class:`ioc_monitor.errors.ConfigError` with
the variable name and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ioc_monitor.errors import ConfigError

__all__ = [
    "ExporterSettings",
    "KafkaSettings",
    "RedisSettings",
    "StackSettings",
    "UnitsSettings",
    "load",
]

#: Local-stack defaults; the code's defaults point at the local stack.
DEFAULT_KAFKA_PORT = 19092
DEFAULT_KAFKA_CONTROLLER_PORT = 19095
DEFAULT_REDIS_PORT = 16379
DEFAULT_PROMETHEUS_PORT = 19090
DEFAULT_ALERTMANAGER_PORT = 19093
DEFAULT_EXPORTER_PORT = 9464


class KafkaSettings(BaseSettings):
    """Apache Kafka connection and topics (env prefix ``IOC_KAFKA_``).

    Attributes:
        bootstrap: ``host:port[,host:port]`` of the brokers. Default: the local stack.
        topic: Topic of dossier-status events. Default ``dossier-events``.
        dlq_topic: Dead-letter topic for rejected messages. Default ``dossier-events.dlq``.
        group: Consumer group of the worker. Default ``ioc-worker``.
        security_protocol: ``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``.
        sasl_mechanism: ``SCRAM-SHA-256``, ``SCRAM-SHA-512`` or ``PLAIN`` when SASL is used.
        sasl_username: SASL user name.
        sasl_password: SASL password (secret, never logged).
        ssl_cafile: CA bundle for TLS, if any.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_KAFKA_", frozen=True, extra="ignore")

    bootstrap: str = f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
    topic: str = "dossier-events"
    dlq_topic: str = "dossier-events.dlq"
    group: str = "ioc-worker"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None


class RedisSettings(BaseSettings):
    """Redis connection (env prefix ``IOC_REDIS_``).

    Attributes:
        url: ``redis://`` or ``rediss://`` URL. Default: the local stack.
        username: ACL user name, if any.
        password: Password (secret, never logged).
        prefix: Prefix of every key this project writes. Default ``ioc``.
        socket_timeout: Seconds before a Redis call times out. Default 5.
        cluster: ``url`` names a node of a Redis Cluster (``IOC_REDIS_CLUSTER``); each
            partition's keys share one hash tag, so every atomic update stays in one slot.
            Default False.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_REDIS_", frozen=True, extra="ignore")

    url: str = f"redis://127.0.0.1:{DEFAULT_REDIS_PORT}/0"
    username: str | None = None
    password: SecretStr | None = None
    prefix: str = Field(default="ioc", pattern=r"^[A-Za-z0-9_.:-]{1,32}$")
    socket_timeout: float = Field(default=5.0, gt=0)
    cluster: bool = False


class ExporterSettings(BaseSettings):
    """The Prometheus exporter (env prefix ``IOC_EXPORTER_``).

    Attributes:
        addr: Bind address of ``/metrics``. Default ``127.0.0.1``.
        port: TCP port. Default 9464.
        clock: ``wall`` (live operations) or ``event`` (replays). Default ``wall``.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_EXPORTER_", frozen=True, extra="ignore")

    addr: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_EXPORTER_PORT, ge=1, le=65535)
    clock: Literal["wall", "event"] = "wall"


class UnitsSettings(BaseSettings):
    """The unit registry (env ``IOC_UNITS_FILE``); unset means the bundled Quảng Ninh file."""

    model_config = SettingsConfigDict(env_prefix="IOC_UNITS_", frozen=True, extra="ignore")

    file: Path | None = None


class StackSettings(BaseSettings):
    """The local service stack (env prefix ``IOC_STACK_``).

    Attributes:
        dir: Where data, logs, pid files and cached jars go. Default ``.stack``.
        kafka_version: Apache Kafka release fetched from Maven Central.
        kafka_port: Broker listener port. Default 19092.
        kafka_controller_port: KRaft controller port. Default 19095.
        redis_port: Redis port. Default 16379.
        prometheus_port: Prometheus port. Default 19090.
        alertmanager_port: Alertmanager port. Default 19093.
        start_timeout: Seconds to wait for each service to answer. Default 90.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_STACK_", frozen=True, extra="ignore")

    dir: Path = Path(".stack")
    kafka_version: str = "4.1.1"
    kafka_port: int = Field(default=DEFAULT_KAFKA_PORT, ge=1, le=65535)
    kafka_controller_port: int = Field(default=DEFAULT_KAFKA_CONTROLLER_PORT, ge=1, le=65535)
    redis_port: int = Field(default=DEFAULT_REDIS_PORT, ge=1, le=65535)
    prometheus_port: int = Field(default=DEFAULT_PROMETHEUS_PORT, ge=1, le=65535)
    alertmanager_port: int = Field(default=DEFAULT_ALERTMANAGER_PORT, ge=1, le=65535)
    start_timeout: float = Field(default=90.0, gt=0)


_S = TypeVar("_S", bound=BaseSettings)


def load(model: type[_S]) -> _S:
    """Instantiate a settings model from the environment with a readable error.

    Args:
        model: One of the settings classes of this module.

    Returns:
        The validated, frozen settings.

    Raises:
        ConfigError: naming each offending ``IOC_*`` variable and why it is invalid.
    """
    try:
        return model()
    except ValidationError as exc:
        prefix = str(model.model_config.get("env_prefix", ""))
        problems = "; ".join(
            f"{prefix}{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid {model.__name__}: {problems}") from None
