"""``ioc recover``: rebuild the Redis state from the start of the topic after Redis lost it.

When Redis loses the project's state (``FLUSHALL``, a lost volume, a restore from an
old backup), the figures can only be rebuilt by replaying every event. This command
prepares that, in this order:

1. checks that the worker's consumer group (``IOC_KAFKA_GROUP``) has no active
   member: every ``ioc worker`` must be stopped first;
2. rewinds the group's committed offsets on the event topic (``IOC_KAFKA_TOPIC``) to
   the earliest offset of each partition;
3. deletes every key of the project (``IOC_REDIS_PREFIX``), found with ``SCAN``;
   nothing else in the Redis database is touched (never ``FLUSHALL``).

The next ``ioc worker`` finds no stored offsets in Redis, so its seek-on-assignment
does nothing and Faust starts from the committed offsets, i.e. the start of the
topic. The rebuild is exact as long as the topic still holds every event (retention).
Rejected messages are dead-lettered again (the dead-letter topic is at-least-once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from redis import Redis
from redis.exceptions import RedisError

from ioc_monitor.config import KafkaSettings, RedisSettings
from ioc_monitor.errors import IocError
from ioc_monitor.redis.client import connect
from ioc_monitor.redis.keys import GLOBAL_NAMES, global_key
from services.publisher import check_tls, client_options

__all__ = ["RecoverySummary", "delete_state", "recover", "rewind_group"]

_DELETE_BATCH: Final = 500
_IDLE_STATES: Final = frozenset({"Empty", "Dead"})


@dataclass(frozen=True, slots=True)
class RecoverySummary:
    """What ``ioc recover`` did.

    Attributes:
        group: The consumer group rewound.
        topic: The event topic.
        offsets: Partition → the offset the group now starts from.
        deleted_keys: Redis keys deleted.
    """

    group: str
    topic: str
    offsets: dict[int, int]
    deleted_keys: int

    def line(self) -> str:
        """Return a one-line human summary."""
        parts = ", ".join(f"{p}→{o}" for p, o in sorted(self.offsets.items())) or "none"
        return (
            f"deleted {self.deleted_keys} Redis keys; group {self.group!r} rewound on "
            f"{self.topic!r} (partition→offset: {parts}); start `ioc worker` to rebuild"
        )


def _admin(settings: KafkaSettings) -> Any:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        return KafkaAdminClient(**client_options(settings), client_id="ioc-recover")
    except KafkaError as exc:
        raise IocError(
            f"cannot connect to Kafka at {settings.bootstrap}: {type(exc).__name__}"
        ) from None


def _check_idle(admin: Any, group: str) -> None:
    described = admin.describe_groups([group])[group]
    members = described.get("members") or []
    state = described.get("group_state") or "Dead"
    if members or state not in _IDLE_STATES:
        clients = sorted({f"{m.get('client_id')}@{m.get('client_host')}" for m in members})
        raise IocError(
            f"consumer group {group!r} has {len(members)} active member(s) (state {state}"
            f"{': ' + ', '.join(clients) if clients else ''}); stop every `ioc worker` of "
            "this group and run `ioc recover` again (a worker killed without a clean "
            "shutdown stays a member until its session times out)"
        )


def _partitions(admin: Any, topic: str) -> list[int]:
    from kafka.errors import UnknownTopicOrPartitionError

    try:
        described = admin.describe_topics([topic])
    except UnknownTopicOrPartitionError:
        return []
    found: list[int] = []
    for entry in described:
        if entry.get("name") == topic and not entry.get("error_code"):
            found.extend(int(p["partition_index"]) for p in entry.get("partitions") or [])
    return sorted(found)


def rewind_group(settings: KafkaSettings) -> dict[int, int]:
    """Rewind the worker's group to the earliest offsets of the event topic.

    Args:
        settings: Kafka settings (bootstrap, credentials, ``topic``, ``group``).

    Returns:
        Partition → committed offset now (empty when the topic does not exist).

    Raises:
        IocError: Kafka cannot be reached, the group has active members, or the
            broker refuses the new offsets.
    """
    from kafka.admin import OffsetSpec
    from kafka.errors import KafkaError, NoError
    from kafka.structs import TopicPartition

    admin = _admin(settings)
    try:
        _check_idle(admin, settings.group)
        partitions = _partitions(admin, settings.topic)
        if not partitions:
            return {}
        specs = {TopicPartition(settings.topic, p): OffsetSpec.EARLIEST for p in partitions}
        result = admin.reset_group_offsets(settings.group, specs)
    except KafkaError as exc:
        raise IocError(
            f"cannot rewind consumer group {settings.group!r}: {type(exc).__name__}"
        ) from None
    finally:
        admin.close()
    failed = sorted(
        f"{tp.partition}: {r['error'].__name__}"
        for tp, r in result.items()
        if r["error"] is not NoError
    )
    if failed:
        raise IocError(
            f"the broker refused to rewind group {settings.group!r} ({'; '.join(failed)}); "
            "make sure no `ioc worker` of this group is running and try again"
        )
    return {tp.partition: int(r["offset"]) for tp, r in result.items()}


def delete_state(client: Redis, prefix: str) -> int:
    """Delete every key of the project's prefix (``SCAN`` + ``UNLINK``), nothing else.

    Only the layout of :mod:`ioc_monitor.redis.keys` is matched: ``<prefix>:{…`` (the
    partitions' hash tags), then ``<prefix>:parts`` and ``<prefix>:layout`` (the next
    worker writes the version again).

    Args:
        client: Redis client.
        prefix: ``IOC_REDIS_PREFIX``.

    Returns:
        The number of keys deleted.
    """
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}:{{*", count=1000):
        batch.append(key)
        if len(batch) >= _DELETE_BATCH:
            deleted += int(client.unlink(*batch))
            batch = []
    if batch:
        deleted += int(client.unlink(*batch))
    deleted += int(client.unlink(*(global_key(prefix, name) for name in GLOBAL_NAMES)))
    return deleted


def recover(kafka: KafkaSettings, redis_settings: RedisSettings) -> RecoverySummary:
    """Rewind the worker's group to the start of the topic and delete the Redis state.

    Args:
        kafka: Kafka settings.
        redis_settings: Redis settings (URL, credentials, prefix).

    Returns:
        What was done.

    Raises:
        IocError: Kafka or Redis failed, or a worker is still running.
    """
    check_tls(kafka)  # a refused certificate names its setting instead of a 30 s time-out
    client = connect(redis_settings, retries=1)
    try:
        client.ping()  # fail before touching Kafka when Redis cannot be reached
        offsets = rewind_group(kafka)
        deleted = delete_state(client, redis_settings.prefix)
    except RedisError as exc:
        raise IocError(
            f"Redis failed ({type(exc).__name__}); nothing is rebuilt until "
            "`ioc recover` succeeds: run it again"
        ) from None
    finally:
        client.close()
    return RecoverySummary(kafka.group, kafka.topic, offsets, deleted)
