"""Key names of the layout (keys.py's table), written out by hand."""

from __future__ import annotations

from ioc_monitor.redis.keys import PartitionKeys, global_key


def test_partition_keys_follow_the_table() -> None:
    k = PartitionKeys("ioc", 7)
    assert (k.tag, k.offset, k.stats, k.dossiers) == (
        "ioc:{7}",
        "ioc:{7}:off",
        "ioc:{7}:stats",
        "ioc:{7}:dos",
    )
    assert (k.done, k.v1_events, k.units) == ("ioc:{7}:done", "ioc:{7}:eid", "ioc:{7}:units")
    assert k.naive_events == "ioc:{7}:naive-eid"
    assert k.totals("u-a") == "ioc:{7}:tot:u-a"
    assert k.buckets("u-a", "mo", 2025) == "ioc:{7}:mo:u-a:2025"
    assert k.bucket_index("u-a", "h") == "ioc:{7}:hi:u-a"
    assert (k.recent("u-a"), k.open("u-a")) == ("ioc:{7}:rc:u-a", "ioc:{7}:open:u-a")
    assert global_key("ioc", "parts") == "ioc:parts"


def test_read_keys_unit_after_unit() -> None:
    k = PartitionKeys("p", 0)
    got = k.read_keys(["u-a", "u-b"], [("m", 483601), ("h", 20150), ("mo", 2025)])
    assert got == [
        "p:{0}:tot:u-a",
        "p:{0}:m:u-a:483601",
        "p:{0}:h:u-a:20150",
        "p:{0}:mo:u-a:2025",
        "p:{0}:open:u-a",
        "p:{0}:rc:u-a",
        "p:{0}:tot:u-b",
        "p:{0}:m:u-b:483601",
        "p:{0}:h:u-b:20150",
        "p:{0}:mo:u-b:2025",
        "p:{0}:open:u-b",
        "p:{0}:rc:u-b",
    ]
    assert k.read_keys([], [("m", 1)]) == []
    assert k.read_keys(["u"], []) == ["p:{0}:tot:u", "p:{0}:open:u", "p:{0}:rc:u"]
