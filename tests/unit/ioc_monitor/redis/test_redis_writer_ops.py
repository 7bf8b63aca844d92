"""The apply script's arguments: every key declared once, ops naming keys by index.

Times by hand: 2025-03-03 08:15 local = 01:15 UTC = 1_740_964_500 s (day 20_150 UTC,
hour 20_150 × 24 + 1 = 483_601, minute 29_016_075; local day 20_150, month since year
0 = 2025 × 12 + 2 = 24_302, year 2025). 2025-03-01 09:30 local = 02:30 UTC =
1_740_796_200 s (hour 20_148 × 24 + 2 = 483_554, minute 29_013_270, local day 20_148).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ioc_monitor.engine import Delta
from ioc_monitor.redis.keys import PartitionKeys
from ioc_monitor.redis.writer import _OPS_OUT, Prepared, Prune, _ops
from ioc_monitor.rules import Item

T = "p:{3}"
NEW, OLD = 1_740_964_500.0, 1_740_796_200.0


def _prepared(prune: Prune | None) -> Prepared:
    delta = Delta(processed=2, units={"u-a"}, watermark=NEW)
    delta.items = [Item("u-a", "received:online_full", NEW), Item("u-a", "received:postal", OLD)]
    return Prepared(PartitionKeys("p", 3), 9, 11, None, delta, [], 0, prune, "e1")


def _decoded(prep: Prepared, extra: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
    """The ops with every key index replaced by its key (checked to be in range)."""
    keys, ops = _ops(prep, extra)
    assert keys[0] == f"{T}:off" and len(set(keys)) == len(keys)
    ops = msgspec.msgpack.decode(_OPS_OUT.encode(ops))  # what the script decodes
    out: list[tuple[Any, ...]] = []
    for op in ops:
        n_keys = {"DEL": len(op) - 1, "PURGE": 2, "CHG": 2}.get(op[0], 1)
        refs = op[1 : 1 + n_keys]
        assert all(isinstance(i, int) and 1 <= i <= len(keys) for i in refs)
        named = (op[0], *(keys[i - 1] for i in refs))
        args = op[1 + n_keys :]
        if op[0] == "HINCRBY":  # one HINCRBY per (field, n) pair, as the script runs it
            assert len(args) % 2 == 0
            out += [(*named, args[j], args[j + 1]) for j in range(0, len(args), 2)]
        else:
            out.append((*named, *args))
    return out


def test_batch_ops_name_their_keys() -> None:
    ops = _decoded(_prepared(None), {"wall": "5"})
    assert ("HINCRBY", f"{T}:stats", "processed", "2") in ops
    assert ("HSET", f"{T}:stats", "wm", "1740964500.0") in ops
    assert ("SADD", f"{T}:units", "u-a") in ops
    assert ("HINCRBY", f"{T}:tot:u-a", "received:postal", "1") in ops
    assert ("HINCRBY", f"{T}:m:u-a:483601", "29016075|received:online_full", "1") in ops
    assert ("HINCRBY", f"{T}:m:u-a:483554", "29013270|received:postal", "1") in ops
    assert ("ZADD", f"{T}:hi:u-a", "20148", "20148", "20150", "20150") in ops
    assert ("ZADD", f"{T}:moi:u-a", "2025", "2025") in ops
    assert ("CHG", f"{T}:stats", f"{T}:chg", "u-a") in ops  # the change log
    assert ("HSETNX", f"{T}:stats", "epoch", "e1") in ops
    assert ops[-1] == ("HSET", f"{T}:stats", "wall", "5")
    assert not any(op[0] in ("DEL", "PURGE", "ZREMRANGEBYSCORE") for op in ops)


def test_each_hash_gets_one_increment_op() -> None:
    """The two receipts share the unit's totals hash: one op with both fields."""
    keys, ops = _ops(_prepared(None), None)
    hincr = [(keys[op[1] - 1], *op[2:]) for op in ops if op[0] == "HINCRBY"]
    named = [h[0] for h in hincr]
    assert len(named) == len(set(named))
    assert (f"{T}:tot:u-a", "received:online_full", "1", "received:postal", "1") in hincr


def test_the_items_of_a_batch_add_up_per_bucket_field() -> None:
    """Three items of one unit, two in one minute, all in one hour: one increment per field.

    2025-03-03 08:15:00, 08:15:30 and 08:16:59 local: minutes 29_016_075 (twice) and
    29_016_076 of hour 483_601 (shard of the minute buckets), day 20_150 (shard of the
    hours), month 24_302 (shard of the days), year 2025 (shard of the months).
    """
    prep = _prepared(None)
    prep.delta.items = [
        Item("u-a", "received:online_full", NEW),
        Item("u-a", "received:online_full", NEW + 30),
        Item("u-a", "refused", NEW + 119),
    ]
    keys, ops = _ops(prep, None)
    buckets = {
        keys[op[1] - 1]: op[2:]
        for op in ops
        if op[0] == "HINCRBY" and ":tot:" not in keys[op[1] - 1] and ":stats" not in keys[op[1] - 1]
    }
    assert buckets == {
        f"{T}:m:u-a:483601": ["29016075|received:online_full", "2", "29016076|refused", "1"],
        f"{T}:h:u-a:20150": ["483601|received:online_full", "2", "483601|refused", "1"],
        f"{T}:d:u-a:24302": ["20150|received:online_full", "2", "20150|refused", "1"],
        f"{T}:mo:u-a:2025": ["24302|received:online_full", "2", "24302|refused", "1"],
    }


def test_prune_deletes_stored_and_new_shards_below_the_cutoffs() -> None:
    prune = Prune(
        first_kept={"m": 483_601, "h": 20_149, "d": 24_302, "mo": 2025},
        recent_before=1_740_960_000.0,
        dossiers_before=1_600_000_000.0,
        units=["u-a", "u-z"],
        stored={("u-a", "m"): [483_500], ("u-a", "d"): [24_290], ("u-z", "h"): [20_100]},
    )
    ops = _decoded(_prepared(prune), {"wall": "5"})
    first = next(i for i, op in enumerate(ops) if op[0] == "PURGE")
    batch, pruning = ops[:first], ops[first:-1]
    assert batch == _decoded(_prepared(None))  # the prune comes after the batch's ops
    assert ops[-1] == ("HSET", f"{T}:stats", "wall", "5")
    deleted = {key for op in pruning if op[0] == "DEL" for key in op[1:]}
    assert deleted == {
        f"{T}:m:u-a:483500",  # stored below the cut
        f"{T}:m:u-a:483554",  # written by this batch, below the cut
        f"{T}:h:u-a:20148",  # written by this batch, below the cut
        f"{T}:d:u-a:24290",
        f"{T}:h:u-z:20100",  # a unit without items in the batch
    }
    assert sorted(op for op in pruning if op[0] != "DEL") == sorted(
        [
            ("PURGE", f"{T}:done", f"{T}:dos", "(1600000000.0"),
            ("ZREMRANGEBYSCORE", f"{T}:mi:u-a", "-inf", "(483601"),
            ("ZREMRANGEBYSCORE", f"{T}:hi:u-a", "-inf", "(20149"),
            ("ZREMRANGEBYSCORE", f"{T}:di:u-a", "-inf", "(24302"),
            ("ZREMRANGEBYSCORE", f"{T}:hi:u-z", "-inf", "(20149"),
            ("ZREMRANGEBYSCORE", f"{T}:rc:u-a", "-inf", "(1740960000.0"),
            ("ZREMRANGEBYSCORE", f"{T}:rc:u-z", "-inf", "(1740960000.0"),
        ]
    )


def test_many_deletions_are_split_into_commands_of_at_most_200_keys() -> None:
    stored = {("u-a", "m"): list(range(1, 451))}
    prune = Prune({"m": 483_601, "h": 0, "d": 0, "mo": 0}, 0.0, 0.0, ["u-a"], stored)
    dels = [op for op in _decoded(_prepared(prune)) if op[0] == "DEL"]
    assert [len(op) - 1 for op in dels] == [200, 200, 51]  # 450 stored + 483_554 of the batch
