"""The read script's ``KEYS`` and ``ARGV`` for one partition, written out by hand."""

from __future__ import annotations

from ioc_monitor.redis.keys import PartitionKeys
from ioc_monitor.redis.reader import _script_args


def test_one_partition_declares_units_stats_and_each_units_keys() -> None:
    keys, args = _script_args(PartitionKeys("p", 4), [b"u-a", b"u-b"], [("d", 24302)])
    assert keys == [
        "p:{4}:units",
        "p:{4}:stats",
        "p:{4}:tot:u-a",
        "p:{4}:d:u-a:24302",
        "p:{4}:open:u-a",
        "p:{4}:rc:u-a",
        "p:{4}:tot:u-b",
        "p:{4}:d:u-b:24302",
        "p:{4}:open:u-b",
        "p:{4}:rc:u-b",
    ]
    assert args == ["2", "2", b"u-a", b"u-b"]  # the units set must still have 2 members
    _, unchecked = _script_args(PartitionKeys("p", 4), [b"u-b"], [("d", 24302)], checked=False)
    assert unchecked == ["", "1", b"u-b"]
