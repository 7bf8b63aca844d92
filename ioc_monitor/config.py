"""Settings, one frozen model per external system, read from ``IOC_*`` environment variables.

Nothing is read at import time: call the ``load_*`` helpers (or instantiate the models)
when a command starts. Invalid values raise :class:`ioc_monitor.errors.ConfigError` with
the variable name and the reason.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ioc_monitor.errors import ConfigError

__all__ = [
    "ExporterSettings",
    "HttpUrl",
    "KafkaSettings",
    "RedisSettings",
    "StackSettings",
    "UnitsSettings",
    "WorkerSettings",
    "load",
]

#: Local-stack defaults; the code's defaults point at the local stack.
DEFAULT_KAFKA_PORT = 19092
DEFAULT_KAFKA_CONTROLLER_PORT = 19095
DEFAULT_REDIS_PORT = 16379
DEFAULT_PROMETHEUS_PORT = 19090
DEFAULT_ALERTMANAGER_PORT = 19093
DEFAULT_EXPORTER_PORT = 9464


_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


def _check_host(host: str) -> None:
    """Raise ValueError unless ``host`` is an IP address or a DNS host name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not _HOSTNAME.fullmatch(host):
            raise ValueError(f"{host!r} is not a host name or IP address") from None


def _check_port(text: str, what: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{what}: port must be 1-65535, got {text!r}")
    return int(text)


def _bootstrap(value: str) -> str:
    """``host:port[,host:port...]``, each host a name or IP address, each port 1-65535."""
    brokers = [b.strip() for b in value.split(",")]
    if not value.strip() or any(not b for b in brokers):
        raise ValueError(f"must be host:port[,host:port...], got {value!r}")
    for broker in brokers:
        host, sep, port = broker.rpartition(":")
        if not sep or not host:
            raise ValueError(f"{broker!r} must be host:port")
        _check_host(host)
        _check_port(port, broker)
    return value


def _topic(value: str) -> str:
    if not _TOPIC.fullmatch(value) or value in (".", ".."):
        raise ValueError(
            f"must be 1-249 characters of A-Z, a-z, 0-9, '.', '_' and '-', got {value!r}"
        )
    return value


def _redis_url(value: str) -> str:
    """A URL redis-py accepts, with a host (or a socket path) and an integer db, if any."""
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"must be a redis://, rediss:// or unix:// URL, got {value!r}")
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(f"unix:// URL without a socket path: {value!r}")
        return value
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"port must be 1-65535 in {value!r}") from None
    if not parts.hostname:
        raise ValueError(f"no host in {value!r} (e.g. redis://127.0.0.1:6379/0)")
    _check_host(parts.hostname)
    if port == 0:
        raise ValueError(f"port must be 1-65535 in {value!r}")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ValueError(f"the database after the host must be a number, got {db!r}")
    return value


def _readable_file(value: Path | None) -> Path | None:
    """An existing, readable regular file (``None`` passes)."""
    if value is None:
        return None
    if not value.is_file():
        raise ValueError(f"no such file: {str(value)!r}")
    if not os.access(value, os.R_OK):
        raise ValueError(f"cannot read {str(value)!r} (permissions)")
    return value


def _no_password() -> bytes:
    """Password callback of ``load_cert_chain``: none, so OpenSSL never prompts on a tty."""
    return b""


def _tls_files_check(
    prefix: str,
    ca: tuple[str, Path | None],
    cert: Path | None,
    key: Path | None,
    no_tls: str | None,
) -> None:
    """Raise ValueError unless the TLS files of a model make sense together.

    They need TLS; the client certificate and its key go together; the CA file
    must hold PEM certificates, and the certificate must match its unencrypted key
    (parsed here, so a wrong file is refused at start-up, naming the variable).

    Args:
        prefix: Env prefix of the model, e.g. ``IOC_REDIS_``.
        ca: Field name and value of the CA-bundle setting.
        cert: The client certificate, if any.
        key: Its private key, if any.
        no_tls: None when the connection settings select TLS, else why they do not (the
            other variable, for the message).
    """
    names = {ca[0]: ca[1], "ssl_certfile": cert, "ssl_keyfile": key}
    given = [f"{prefix}{name.upper()}" for name, value in names.items() if value is not None]
    if given and no_tls is not None:
        raise ValueError(f"{' and '.join(given)} need TLS: {no_tls}")
    if (cert is None) != (key is None):
        raise ValueError(
            f"{prefix}SSL_CERTFILE and {prefix}SSL_KEYFILE (the client certificate and its "
            "private key) go together: set both or neither"
        )
    if ca[1] is not None:
        try:
            ssl.create_default_context(cafile=str(ca[1]))
        except ssl.SSLError as exc:
            raise ValueError(
                f"{prefix}{ca[0].upper()}: {str(ca[1])!r} holds no PEM certificate ({exc.reason})"
            ) from None
    if cert is not None and key is not None:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key, _no_password)
        except ssl.SSLError as exc:
            raise ValueError(
                f"{prefix}SSL_CERTFILE and {prefix}SSL_KEYFILE: not a PEM certificate and its "
                f"unencrypted private key ({exc.reason or exc.strerror})"
            ) from None


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
    return value


def _bind_addr(value: str) -> str:
    _check_host(value)
    return value


Bootstrap = Annotated[str, AfterValidator(_bootstrap)]
TopicName = Annotated[str, AfterValidator(_topic)]
RedisUrl = Annotated[str, AfterValidator(_redis_url)]
ReadableFile = Annotated[Path | None, AfterValidator(_readable_file)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
BindAddr = Annotated[str, AfterValidator(_bind_addr)]


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
        ssl_cafile: CA bundle (PEM) the brokers' certificates are checked against, with
            ``SSL``/``SASL_SSL``. Default None: the system's CAs.
        ssl_certfile: Client certificate (PEM) for brokers that require one (mutual TLS).
            Default None; set with ``ssl_keyfile``.
        ssl_keyfile: Its private key (PEM, unencrypted). Default None.
        compression: Codec of the batches our producers send (``ioc replay``, ``ioc
            simulate --to-kafka``): ``none`` (default), ``gzip``, ``snappy``, ``lz4`` or
            ``zstd``. Consumers read every codec whatever this says.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_KAFKA_", frozen=True, extra="ignore")

    bootstrap: Bootstrap = f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
    topic: TopicName = "dossier-events"
    dlq_topic: TopicName = "dossier-events.dlq"
    group: str = Field(default="ioc-worker", pattern=r"^[A-Za-z0-9._-]{1,249}$")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: ReadableFile = None
    ssl_certfile: ReadableFile = None
    ssl_keyfile: ReadableFile = None
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"IOC_KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "IOC_KAFKA_SASL_USERNAME and IOC_KAFKA_SASL_PASSWORD"
            )
        if self.dlq_topic == self.topic:
            raise ValueError("IOC_KAFKA_DLQ_TOPIC must differ from IOC_KAFKA_TOPIC")
        protocol = self.security_protocol
        _tls_files_check(
            "IOC_KAFKA_",
            ("ssl_cafile", self.ssl_cafile),
            self.ssl_certfile,
            self.ssl_keyfile,
            None
            if protocol in ("SSL", "SASL_SSL")
            else f"IOC_KAFKA_SECURITY_PROTOCOL must be SSL or SASL_SSL, got {protocol}",
        )
        return self


class RedisSettings(BaseSettings):
    """Redis connection (env prefix ``IOC_REDIS_``).

    Attributes:
        url: ``redis://``, ``rediss://`` (TLS) or ``unix://`` URL. Default: the local stack.
        username: ACL user name, if any.
        password: Password (secret, never logged).
        prefix: Prefix of every key this project writes. Default ``ioc``.
        socket_timeout: Seconds before a Redis call times out. Default 5.
        cluster: ``url`` names a node of a Redis Cluster (``IOC_REDIS_CLUSTER``); each
            partition's keys share one hash tag, so every atomic update stays in one slot.
            Default False.
        ssl_ca_certs: CA bundle (PEM) the server's certificate is checked against, with a
            ``rediss://`` URL (certificate and host name are always verified). Default
            None: the system's CAs.
        ssl_certfile: Client certificate (PEM) for a server that requires one
            (``tls-auth-clients yes``). Default None; set with ``ssl_keyfile``.
        ssl_keyfile: Its private key (PEM, unencrypted). Default None.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_REDIS_", frozen=True, extra="ignore")

    url: RedisUrl = f"redis://127.0.0.1:{DEFAULT_REDIS_PORT}/0"
    username: str | None = None
    password: SecretStr | None = None
    prefix: str = Field(default="ioc", pattern=r"^[A-Za-z0-9_.:-]{1,32}$")
    socket_timeout: float = Field(default=5.0, gt=0)
    cluster: bool = False
    ssl_ca_certs: ReadableFile = None
    ssl_certfile: ReadableFile = None
    ssl_keyfile: ReadableFile = None

    @model_validator(mode="after")
    def _tls_files(self) -> RedisSettings:
        scheme = urlsplit(self.url).scheme
        _tls_files_check(
            "IOC_REDIS_",
            ("ssl_ca_certs", self.ssl_ca_certs),
            self.ssl_certfile,
            self.ssl_keyfile,
            None if scheme == "rediss" else f"IOC_REDIS_URL must be rediss://, got {scheme}://",
        )
        return self


def _shard(value: str) -> str:
    """Check ``k/n`` with 0 ≤ k < n."""
    if not re.fullmatch(r"\d{1,4}/\d{1,4}", value):
        raise ValueError(f"must be k/n, e.g. 0/4, got {value!r}")
    k, n = (int(x) for x in value.split("/"))
    if not 0 <= k < n:
        raise ValueError(f"must be k/n with 0 <= k < n, got {value!r}")
    return value


Shard = Annotated[str, AfterValidator(_shard)]


class ExporterSettings(BaseSettings):
    """The Prometheus exporter (env prefix ``IOC_EXPORTER_``).

    Attributes:
        addr: Bind address of ``/metrics``. Default ``127.0.0.1``.
        port: TCP port. Default 9464.
        clock: ``wall`` (live operations) or ``event`` (replays). Default ``wall``.
        shard: ``k/n`` (``IOC_EXPORTER_SHARD``): serve shard k of n (kube-state-metrics'
            sharding: a stable subset of the units; the pipeline series on shard 0).
            Default ``0/1``, everything.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_EXPORTER_", frozen=True, extra="ignore")

    addr: BindAddr = "127.0.0.1"
    port: int = Field(default=DEFAULT_EXPORTER_PORT, ge=1, le=65535)
    clock: Literal["wall", "event"] = "wall"
    shard: Shard = "0/1"

    @property
    def shard_k_n(self) -> tuple[int, int]:
        """:attr:`shard` as ``(k, n)``."""
        k, n = self.shard.split("/")
        return int(k), int(n)


class WorkerSettings(BaseSettings):
    """The streaming worker's process (env prefix ``IOC_WORKER_``).

    Attributes:
        helper: ``IOC_WORKER_HELPER``: hand batches to a helper process on another CPU
            core (:mod:`streams.helper`): ``1`` yes, ``0`` no, ``auto`` when the machine
            has 2 or more CPUs. Default ``auto``.
        catch_up: ``IOC_WORKER_CATCH_UP``: messages behind (all partitions together)
            from which the worker first catches up as ``ioc backfill`` reads, before it
            joins its consumer group (:mod:`streams.catch_up`); ``0``: never. Default
            100,000.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_WORKER_", frozen=True, extra="ignore")

    helper: Literal["auto", "1", "0"] = "auto"
    catch_up: int = Field(default=100_000, ge=0)

    def use_helper(self, cpus: int | None) -> bool:
        """Whether the worker uses the helper process on a machine of ``cpus`` CPUs."""
        if self.helper == "auto":
            return (cpus or 1) >= 2
        return self.helper == "1"


class UnitsSettings(BaseSettings):
    """The unit registry (env ``IOC_UNITS_FILE``); unset means the bundled Quảng Ninh file."""

    model_config = SettingsConfigDict(env_prefix="IOC_UNITS_", frozen=True, extra="ignore")

    file: ReadableFile = None


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
    kafka_version: str = Field(default="4.1.1", pattern=r"^\d+\.\d+\.\d+$")
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
        problems = "; ".join(_problem(prefix, err) for err in exc.errors())
        raise ConfigError(f"invalid {model.__name__}: {problems}") from None


def _problem(prefix: str, err: object) -> str:
    """One validation error as ``IOC_<VAR>: reason`` (model-level errors: the reason only)."""
    assert isinstance(err, dict)
    msg = str(err["msg"]).removeprefix("Value error, ")
    loc = "_".join(str(p) for p in err["loc"]).upper()
    return f"{prefix}{loc}: {msg}" if loc else msg
