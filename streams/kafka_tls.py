"""The TLS and SASL options of our asyncio Kafka clients (Faust's and bare aiokafka's).

:func:`ssl_context` is the one place the brokers' certificates are checked: against
``IOC_KAFKA_SSL_CAFILE`` (default the system's CAs) with host names, presenting the
client certificate of ``IOC_KAFKA_SSL_CERTFILE``/``IOC_KAFKA_SSL_KEYFILE`` if set; a
refused certificate names the setting to check. :func:`aiokafka_options` gives the
keyword arguments of ``AIOKafkaConsumer``/``AIOKafkaProducer`` (``ioc backfill``);
``ioc worker`` passes the same context to Faust (:mod:`streams.app`).
"""

from __future__ import annotations

import ssl
from typing import Any

from ioc_monitor.config import KafkaSettings

__all__ = ["aiokafka_options", "ssl_context"]


class _NamedTLSObject(ssl.SSLObject):
    """An ``SSLObject`` whose refused broker certificate names ``IOC_KAFKA_SSL_CAFILE``.

    aiokafka logs a failed handshake as ``Unable connect to "<broker>": <error>``; this
    error then says which setting to check. Installed as the context's
    ``sslobject_class`` (used by asyncio's and uvloop's TLS transports).
    """

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
        except ssl.SSLCertVerificationError as exc:
            named = ssl.SSLCertVerificationError(
                exc.errno,
                f"{exc.strerror}; the broker's certificate is not trusted: check "
                "IOC_KAFKA_SSL_CAFILE (the CA that signed it) and IOC_KAFKA_BOOTSTRAP",
            )
            named.verify_code, named.verify_message = exc.verify_code, exc.verify_message
            raise named from exc


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of ``SSL``/``SASL_SSL`` (None for the other protocols).

    Args:
        kafka: The Kafka settings.
    """
    if kafka.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    ctx = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    ctx.sslobject_class = _NamedTLSObject
    if kafka.ssl_certfile is not None and kafka.ssl_keyfile is not None:
        ctx.load_cert_chain(str(kafka.ssl_certfile), str(kafka.ssl_keyfile))
    return ctx


def aiokafka_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments of an aiokafka client: brokers, protocol, TLS context and SASL.

    Args:
        kafka: The Kafka settings (SASL mechanism default ``SCRAM-SHA-256``, as Faust's).
    """
    opts: dict[str, Any] = {
        "bootstrap_servers": [b.strip() for b in kafka.bootstrap.split(",") if b.strip()],
        "security_protocol": kafka.security_protocol,
        "ssl_context": ssl_context(kafka),
    }
    if kafka.security_protocol.startswith("SASL"):
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        opts.update(
            sasl_mechanism=kafka.sasl_mechanism or "SCRAM-SHA-256",
            sasl_plain_username=kafka.sasl_username or "",
            sasl_plain_password=password,
        )
    return opts
