"""Publishing raw event lines to Kafka, keyed by ``dossier_id``, with every failure counted.

Values go out byte for byte as read: malformed lines too (keyed None), since the worker
is the one that judges them. Delivery results arrive on kafka-python's I/O thread and
are counted there; :meth:`Publisher.flush` waits for all of them.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from types import TracebackType
from typing import Any, Final

import orjson

from ioc_monitor.config import KafkaSettings
from ioc_monitor.errors import ConfigError, IocError

__all__ = [
    "BATCH_SIZE_BYTES",
    "LINGER_MS",
    "MAX_REQUEST_BYTES",
    "Publisher",
    "check_tls",
    "client_options",
    "dossier_key",
    "ensure_topic",
    "key_partition",
]

#: Keys whose partition is remembered (see :meth:`Publisher._partition_of`).
_PARTITION_MEMO: Final = 200_000
#: Producer batch size per partition, bytes (256 KiB).
BATCH_SIZE_BYTES: Final = 256 * 1024
#: How long the producer waits to fill a batch, milliseconds.
LINGER_MS: Final = 20
#: Largest request (and record) the producer sends: above the brokers' ``message.max.bytes``
#: (1 MiB by default, 2 MiB on the local stack), so the broker decides what is too large.
MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024


def dossier_key(raw: bytes) -> bytes | None:
    """Return the message key of a raw line: its ``dossier_id`` as UTF-8 bytes.

    Args:
        raw: The line as read.

    Returns:
        The key, or None when the line is not a JSON object with a string ``dossier_id``.
    """
    try:
        obj = orjson.loads(raw)
    except (orjson.JSONDecodeError, RecursionError):
        return None
    value = obj.get("dossier_id") if isinstance(obj, dict) else None
    return value.encode() if isinstance(value, str) else None


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Return the kafka-python connection and security options of the settings.

    Args:
        settings: Kafka settings (bootstrap, security protocol, SASL, TLS files).

    Returns:
        Keyword arguments shared by ``KafkaProducer``, ``KafkaConsumer`` and
        ``KafkaAdminClient``: with TLS also ``ssl_cafile``, ``ssl_certfile`` and
        ``ssl_keyfile`` (those set, as strings; kafka-python verifies the brokers'
        certificates and host names).
    """
    options: dict[str, Any] = {
        "bootstrap_servers": [s.strip() for s in settings.bootstrap.split(",") if s.strip()],
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol.startswith("SASL"):  # same default mechanism as the worker
        options["sasl_mechanism"] = settings.sasl_mechanism or "SCRAM-SHA-256"
        options["sasl_plain_username"] = settings.sasl_username or ""
        password = settings.sasl_password
        options["sasl_plain_password"] = password.get_secret_value() if password else ""
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        value = getattr(settings, name)
        if value is not None:
            options[name] = str(value)
    return options


_CHECK_CLIENT_ID: Final = b"ioc-tls-check"
_API_VERSIONS_HEADER: Final = struct.pack(">hhih", 18, 0, 1, len(_CHECK_CLIENT_ID))
#: An ApiVersions v0 request (api key 18, correlation id 1): every broker answers it.
_API_VERSIONS: Final = (
    struct.pack(">i", len(_API_VERSIONS_HEADER) + len(_CHECK_CLIENT_ID))
    + _API_VERSIONS_HEADER
    + _CHECK_CLIENT_ID
)


def check_tls(settings: KafkaSettings, timeout: float = 5.0) -> None:
    """With ``SSL``/``SASL_SSL``, check the TLS handshake with the first broker that answers.

    kafka-python reports a refused certificate only as a bootstrap time-out (30 s later,
    naming nothing), so the producer and the admin client check first: one handshake
    with the same CA, client certificate and host-name check, then one ``ApiVersions``
    round trip (a broker refusing our certificate says so on the first read). A broker
    that does not answer is not an error here: the client reports it as before.

    Args:
        settings: Kafka settings.
        timeout: Seconds allowed per broker. Default 5.

    Raises:
        ConfigError: A certificate was refused; the message names the setting
            (``IOC_KAFKA_SSL_CAFILE``, or ``IOC_KAFKA_SSL_CERTFILE``/``_KEYFILE``).
    """
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return
    ctx = ssl.create_default_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
    )
    if settings.ssl_certfile is not None and settings.ssl_keyfile is not None:
        ctx.load_cert_chain(str(settings.ssl_certfile), str(settings.ssl_keyfile))
    for broker in (b.strip() for b in settings.bootstrap.split(",")):
        host, _, port = broker.rpartition(":")
        host = host.strip("[]")
        try:
            with (
                socket.create_connection((host, int(port)), timeout=timeout) as raw,
                ctx.wrap_socket(raw, server_hostname=host) as tls,
            ):
                tls.sendall(_API_VERSIONS)
                tls.recv(4)
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(
                f"TLS to Kafka at {broker} failed: the broker's certificate is not trusted "
                f"({exc.verify_message}); check IOC_KAFKA_SSL_CAFILE (the CA that signed it) "
                "and the host names of IOC_KAFKA_BOOTSTRAP"
            ) from None
        except ssl.SSLError as exc:
            raise ConfigError(
                f"TLS to Kafka at {broker} failed ({exc.reason or exc}); check "
                "IOC_KAFKA_SSL_CERTFILE and IOC_KAFKA_SSL_KEYFILE (a client certificate the "
                "broker accepts) and IOC_KAFKA_SSL_CAFILE"
            ) from None
        except OSError:
            continue
        return


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of a key under Kafka's default partitioner (kafka-python's too).

    Args:
        key: Serialized key.
        partitions: The topic's partition count.

    Returns:
        ``(murmur2(key) & 0x7fffffff) % partitions``.
    """
    from kafka.partitioner.default import murmur2  # local: kafka-python is heavy to import

    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class Publisher:
    """A ``KafkaProducer`` for raw lines: ``acks=all``, idempotent, keyed by dossier.

    Args:
        settings: Kafka settings; ``settings.topic`` is the default topic.
        topic: Topic to publish to. Default ``settings.topic``.
        client_id: Client id shown by the broker. Default ``ioc-publisher``.
        **overrides: Further ``KafkaProducer`` options (they win over the defaults).

    Raises:
        IocError: The producer cannot be created (e.g. no broker answers); a
            :class:`~ioc_monitor.errors.ConfigError` naming the setting when a TLS
            certificate is refused (:func:`check_tls`).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str | None = None,
        client_id: str = "ioc-publisher",
        **overrides: Any,
    ) -> None:
        from kafka import KafkaProducer  # local import: kafka-python is heavy to import
        from kafka.errors import KafkaError

        self.topic = topic or settings.topic
        self._lock = threading.Lock()
        self._attempted = 0
        self._acked = 0
        self._failed = 0
        self._first_error: str | None = None
        self._partitions: dict[bytes, int] = {}
        self._n_partitions: int | None = None
        check_tls(settings)
        config: dict[str, Any] = {
            **client_options(settings),
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": LINGER_MS,
            "batch_size": BATCH_SIZE_BYTES,
            "compression_type": None if settings.compression == "none" else settings.compression,
            "max_request_size": MAX_REQUEST_BYTES,
            **overrides,
        }
        try:
            self._producer = KafkaProducer(**config)
        except KafkaError as exc:
            raise IocError(f"cannot connect to Kafka at {settings.bootstrap}: {exc}") from None

    @property
    def acked(self) -> int:
        """Messages the broker confirmed."""
        return self._acked

    @property
    def failed(self) -> int:
        """Messages that could not be sent or were not confirmed."""
        return self._failed

    @property
    def pending(self) -> int:
        """Messages sent whose delivery result has not arrived yet."""
        with self._lock:
            return self._attempted - self._acked - self._failed

    @property
    def first_error(self) -> str | None:
        """Description of the first failure, if any."""
        return self._first_error

    def _ok(self, _metadata: object) -> None:
        # Only kafka-python's I/O thread writes _acked: no lock (the hot path).
        self._acked += 1

    def _error(self, exc: BaseException) -> None:
        with self._lock:
            self._failed += 1
            if self._first_error is None:
                self._first_error = f"{type(exc).__name__}: {exc}"

    def _partition_of(self, key: bytes | None) -> int | None:
        """The partition kafka-python's default partitioner picks for a key, memoised.

        A dossier's events share a key, and kafka-python's murmur2 is pure Python: the
        same formula (``murmur2(key) & 0x7fffffff`` modulo the topic's partitions) is
        computed once per key. ``None`` (no key) leaves the choice to kafka-python.
        """
        if key is None:
            return None
        part = self._partitions.get(key)
        if part is None:
            if self._n_partitions is None:
                known = self._producer.partitions_for(self.topic)
                self._n_partitions = len(known)
            if len(self._partitions) >= _PARTITION_MEMO:
                self._partitions.clear()
            part = self._partitions[key] = key_partition(key, self._n_partitions)
        return part

    def send(self, raw: bytes, key: bytes | None = None) -> None:
        """Queue one line; its delivery result is counted when it arrives.

        Args:
            raw: The message value, sent exactly as given.
            key: The key; default :func:`dossier_key` of ``raw``.
        """
        self._attempted += 1  # only the sending thread writes it
        if key is None:
            key = dossier_key(raw)
        try:
            future = self._producer.send(
                self.topic, value=raw, key=key, partition=self._partition_of(key)
            )
        except Exception as exc:  # kafka-python raises several types synchronously
            self._error(exc)
            return
        future.add_callback(self._ok)
        future.add_errback(self._error)

    def flush(self, timeout: float | None = None) -> None:
        """Wait for the delivery result of every queued message.

        Messages still without a result afterwards stay in :attr:`pending`; callers
        count them as failed.

        Args:
            timeout: Seconds to wait at most; None waits as long as it takes.
        """
        try:
            self._producer.flush(timeout=timeout)
        except Exception as exc:  # KafkaTimeoutError: some results did not come in time
            with self._lock:
                self._first_error = self._first_error or f"{type(exc).__name__}: {exc}"

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush and close the producer.

        Args:
            timeout: Seconds allowed for closing. Default 30.
        """
        self.flush(timeout)
        self._producer.close(timeout=timeout)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def ensure_topic(
    settings: KafkaSettings, topic: str, partitions: int, replication: int = 1
) -> bool:
    """Create a topic unless it exists (idempotent).

    Args:
        settings: Kafka settings.
        topic: Topic name.
        partitions: Partitions of a new topic, >= 1.
        replication: Replication factor of a new topic. Default 1 (the local stack).

    Returns:
        True if the topic was created, False if it already existed.

    Raises:
        IocError: The broker cannot be reached or refuses to create the topic, or a TLS
            certificate is refused (:func:`check_tls`, naming the setting).
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    check_tls(settings)
    try:
        admin = KafkaAdminClient(**client_options(settings), client_id="ioc-admin")
    except KafkaError as exc:
        raise IocError(f"cannot connect to Kafka at {settings.bootstrap}: {exc}") from None
    try:
        if topic in admin.list_topics():
            return False
        admin.create_topics(
            {topic: {"num_partitions": partitions, "replication_factor": replication}},
            wait_for_metadata=True,
        )
        return True
    except TopicAlreadyExistsError:
        return False
    except KafkaError as exc:
        raise IocError(f"cannot create topic {topic!r}: {exc}") from None
    finally:
        admin.close()
