"""The publisher's keying and partition choice (services.publisher), without a broker."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.partitioner.default import DefaultPartitioner

from services.publisher import dossier_key, key_partition


class _Cluster:
    """The three metadata calls kafka-python's DefaultPartitioner makes."""

    def __init__(self, n: int) -> None:
        self._parts = set(range(n))

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, _topic: str) -> set[int]:
        return self._parts

    def available_partitions_for_topic(self, _topic: str) -> set[int]:
        return self._parts


@pytest.mark.parametrize("n", [1, 3, 6, 12])
def test_key_partition_is_kafka_pythons_default_partitioner(n: int) -> None:
    partitioner: Any = DefaultPartitioner()
    keys = [b"", b"d", b"QN-2026-000001", "hồ-sơ-ý".encode(), bytes(range(256))]
    keys += [f"HS-{i:06d}".encode() for i in range(500)]
    for key in keys:
        expected = partitioner.partition("t", key, key, b"v", b"v", _Cluster(n))
        assert key_partition(key, n) == expected


@pytest.mark.parametrize(
    ("key", "partition"),
    [(b"", 681), (b"a", 524), (b"ab", 434), (b"abc", 107), (b"123456789", 566), (b"\x00 ", 742)],
)
def test_java_client_vectors(key: bytes, partition: int) -> None:
    """Partitions of Kafka's Java client for 1,000 partitions (its murmur2 compatibility
    vectors): replayed events land where a Java producer would put them."""
    assert key_partition(key, 1000) == partition


def test_dossier_key() -> None:
    assert dossier_key(b'{"dossier_id": "HS-1", "x": 1}') == b"HS-1"
    assert dossier_key(b'{"dossier_id": 5}') is None
    assert dossier_key(b"not json") is None
    assert dossier_key(b"[1, 2]") is None
