"""Apply a partition's batch to Redis atomically and exactly once.

:func:`prepare` reads the state a batch needs (pipelined round trips), skips
messages at or below the partition's stored offset and folds the rest with the
pure engine. :func:`commit` then writes every change and the new offset in one Lua
script (:data:`ioc_monitor.redis.scripts.APPLY_LUA`) that first checks the stored
offset is still the one read: if another worker (after a rebalance) or an earlier
attempt got there first, nothing is written and the caller prepares again. A
redelivered message is therefore never counted twice, and a batch is never half
applied.

When the watermark moves far enough (:func:`ioc_monitor.windows.prune_plan`: every
6 hours of watermark for minute shards, when a cutoff moves for the others) the same
script also prunes what retention no longer keeps. The keys to delete are read by
:func:`prepare` (the partition's units and the shards their indexes list below the
cutoffs) and declared to the script like every other key. That read is consistent
with the commit: only commits write a partition's keys, each moves the stored offset
forward, and the script refuses to run if the offset moved since :func:`prepare`
read it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import msgspec
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from ioc_monitor.engine import DOSSIER_RETENTION_S, Delta, fold, keys_to_load, parse_batch
from ioc_monitor.events import Rejection
from ioc_monitor.redis.keys import PartitionKeys
from ioc_monitor.redis.scripts import APPLY_LUA
from ioc_monitor.rules import DossierState
from ioc_monitor.timeutil import minute_index
from ioc_monitor.windows import GRANULARITIES, cutoffs, minute_slots, prune_plan, shard_cutoffs

__all__ = ["Prepared", "Prune", "commit", "prepare"]

_APPLY_SHA: Final = hashlib.sha1(APPLY_LUA.encode()).hexdigest()
_CHUNK: Final = 200  # arguments per Redis command inside the script (Lua unpack limit)
#: The ops travel as one MessagePack array (``cmsgpack.unpack`` in the script).
_OPS_OUT: Final = msgspec.msgpack.Encoder()

#: An op of the apply script: command, then key indexes into ``KEYS`` and arguments.
_Op = list[str | int]


@dataclass(slots=True)
class Prune:
    """The retention prune due with a batch, and the stored keys it removes.

    Attributes:
        first_kept: First shard kept per granularity (:func:`~ioc_monitor.windows.shard_cutoffs`).
        recent_before: Recent items timed before this are dropped (seconds).
        dossiers_before: Dossiers completed at a watermark before this are forgotten
            (seconds).
        units: The partition's units set as read, with the batch's units.
        stored: ``(unit, granularity) -> shards`` listed in the unit's index below
            ``first_kept`` (read before the batch; the batch's own shards are added
            when the ops are built).
    """

    first_kept: dict[str, int]
    recent_before: float
    dossiers_before: float
    units: list[str]
    stored: dict[tuple[str, str], list[int]]


@dataclass(slots=True)
class Prepared:
    """A folded batch, ready to commit.

    Attributes:
        keys: The partition's keys.
        expected_offset: Stored offset read before folding (``None``: nothing yet).
        last_offset: Offset of the batch's last message (the new stored offset).
        previous_watermark: Watermark before the batch.
        delta: The batch's state changes.
        dead_letters: ``(offset, raw message, rejection)`` for the dead-letter topic.
        skipped: Messages already applied earlier (offset ≤ stored), ignored.
        prune: The retention prune due with the batch (``None``: none due).
        epoch: Random token the commit sets as the partition's ``epoch`` if it has none
            (``""``: none set), so a reader can tell state rebuilt from scratch.
    """

    keys: PartitionKeys
    expected_offset: int | None
    last_offset: int
    previous_watermark: float | None
    delta: Delta
    dead_letters: list[tuple[int, bytes, Rejection]]
    skipped: int
    prune: Prune | None
    epoch: str = ""


class _Loaded:
    """Lookup over the rows read for one batch."""

    def __init__(self, dossiers: dict[str, DossierState]) -> None:
        self._dossiers = dossiers

    def dossier(self, dossier_id: str) -> DossierState | None:
        return self._dossiers.get(dossier_id)


async def prepare(
    client: Redis,
    keys: PartitionKeys,
    messages: Sequence[tuple[int, bytes]],
    units: Container[str],
) -> Prepared | None:
    """Read what a batch needs and fold the messages not applied yet.

    Two pipelined round trips (one when no message names a dossier), two more when
    the batch makes a retention prune due (:class:`Prune`).

    Args:
        client: Async Redis client.
        keys: Keys of the messages' partition.
        messages: ``(offset, raw value)`` in offset order, all of one partition. A
            message whose offset is not above the stored offset and every offset
            before it in the batch (a redelivery) is skipped.
        units: Ids of the unit registry.

    Returns:
        The prepared batch, or ``None`` when every message was already applied.
    """
    async with client.pipeline(transaction=False) as pipe:
        pipe.get(keys.offset)
        pipe.hget(keys.stats, "wm")
        stored_raw, wm_raw = await pipe.execute()
    stored = int(stored_raw) if stored_raw is not None else None
    todo: list[tuple[int, bytes]] = []
    last = stored
    for offset, value in messages:  # a redelivered record may repeat within a batch
        if last is None or offset > last:
            todo.append((offset, value))
            last = offset
    if not todo:
        return None
    parsed = parse_batch([v for _, v in todo], units)
    dossier_ids = keys_to_load(parsed)
    dossiers: dict[str, DossierState] = {}
    if dossier_ids:
        d_list = sorted(dossier_ids)
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(keys.offset)
            pipe.hmget(keys.dossiers, d_list)
            again, rows = await pipe.execute()
        if again != stored_raw:  # moved between the two reads: the commit guard will refuse
            return await prepare(client, keys, messages, units)
        dossiers = {
            d: DossierState.decode(r.decode()) for d, r in zip(d_list, rows, strict=True) if r
        }
    watermark = float(wm_raw) if wm_raw is not None else None
    delta = fold(parsed, _Loaded(dossiers), watermark)
    prune = await _read_prune(client, keys, delta.watermark, watermark, delta.units)
    dead = [(todo[pos][0], todo[pos][1], rej) for pos, rej in delta.rejections]
    return Prepared(
        keys=keys,
        expected_offset=stored,
        last_offset=todo[-1][0],
        previous_watermark=watermark,
        delta=delta,
        dead_letters=dead,
        skipped=len(messages) - len(todo),
        prune=prune,
        epoch=secrets.token_hex(8),
    )


async def _read_prune(
    client: Redis,
    keys: PartitionKeys,
    watermark: float | None,
    previous: float | None,
    batch_units: set[str],
) -> Prune | None:
    """Read what a prune removes, if one is due (:func:`~ioc_monitor.windows.prune_plan`).

    Two round trips: the partition's units set, then (pipelined) the shards below the
    cutoffs in the indexes of the granularities the plan prunes.
    """
    if watermark is None:
        return None
    plan = prune_plan(watermark, previous)
    if not plan:
        return None
    cut = cutoffs(watermark)
    first_kept = shard_cutoffs(cut)
    stored_units = await client.smembers(keys.units)
    units = sorted({u.decode() if isinstance(u, bytes) else u for u in stored_units} | batch_units)
    slots = [(unit, g) for unit in units for g in plan]
    rows: list[list[bytes]] = []
    if slots:
        async with client.pipeline(transaction=False) as pipe:
            for unit, g in slots:
                pipe.zrangebyscore(keys.bucket_index(unit, g), "-inf", f"({first_kept[g]}")
            rows = await pipe.execute()
    return Prune(
        first_kept=first_kept,
        recent_before=cut.recent,
        dossiers_before=watermark - DOSSIER_RETENTION_S,
        units=units,
        stored={slot: [int(m) for m in row] for slot, row in zip(slots, rows, strict=True) if row},
    )


@lru_cache(maxsize=65536)
def _minute_args(
    minute: int,
) -> tuple[tuple[tuple[str, int, int], ...], tuple[str, str, str, str]]:
    """A minute's bucket slots and the prefix ``"<idx>|"`` of each one's fields."""
    slots = minute_slots(minute)
    m, h, d, mo = (f"{idx}|" for _, _, idx in slots)
    return slots, (m, h, d, mo)


def _ops(
    prep: Prepared, extra_stats: Mapping[str, str] | None = None
) -> tuple[list[str], list[_Op]]:
    """Turn a prepared batch into the apply script's ``KEYS`` and ops.

    Returns:
        The keys (the offset key first, each key once) and the ops, each
        ``[command, key index, args...]`` with 1-based indexes into the keys (see
        :mod:`ioc_monitor.redis.scripts`).
    """
    k = prep.keys
    delta = prep.delta
    declared: list[str] = [k.offset]
    index: dict[str, int] = {k.offset: 1}
    ops: list[_Op] = []

    def ref(key: str) -> int:
        i = index.get(key)
        if i is None:
            declared.append(key)
            i = index[key] = len(declared)
        return i

    def add(op: str, key: str, *args: str) -> None:
        ops.append([op, ref(key), *args])

    def add_many(op: str, key: str, pairs: Sequence[str]) -> None:
        for start in range(0, len(pairs), _CHUNK):
            ops.append([op, ref(key), *pairs[start : start + _CHUNK]])

    stats: Counter[str] = Counter({f"rej:{r}": n for r, n in delta.rejected.items()})
    stats["processed"] += delta.processed
    stats["duplicate"] += delta.duplicate
    stat_pairs = [x for field, n in stats.items() if n for x in (field, str(n))]
    if stat_pairs:
        add("HINCRBY", k.stats, *stat_pairs)
    if delta.watermark is not None and delta.watermark != prep.previous_watermark:
        add("HSET", k.stats, "wm", repr(delta.watermark))
    if delta.units:
        add_many("SADD", k.units, sorted(delta.units))
    add_many("HSET", k.dossiers, [x for d, s in delta.dossiers.items() for x in (d, s.encode())])
    add_many("ZADD", k.done, [x for d, t in delta.completed.items() for x in (repr(t), d)])
    # A forgotten dossier that lives again: its old completion must not purge the new state.
    add_many("ZREM", k.done, sorted(delta.forgotten - delta.completed.keys()))
    # Count per (unit, series), and per bucket field: every bucket of an item follows
    # from its minute, and the items of a batch that share an hour, a day or a month add
    # up here, so the script runs one HINCRBY per field of the batch (Redis' time per
    # event is mostly those calls).
    totals: dict[tuple[str, str], int] = {}
    minutes: dict[tuple[str, int], dict[str, int]] = {}
    for item in delta.items:
        unit, series = item.unit, item.series
        pair = (unit, series)
        totals[pair] = totals.get(pair, 0) + 1
        at = (unit, minute_index(item.t))
        counted = minutes.get(at)
        if counted is None:
            minutes[at] = {series: 1}
        else:
            counted[series] = counted.get(series, 0) + 1
    per_unit: dict[str, list[str]] = {}
    for (unit, series), n in totals.items():
        per_unit.setdefault(unit, []).extend((series, str(n)))
    for unit, pairs in per_unit.items():
        add_many("HINCRBY", k.totals(unit), pairs)
    shards: dict[tuple[str, str], set[int]] = {}
    hour_keys: dict[tuple[str, int], tuple[dict[str, int], ...]] = {}
    buckets: dict[int, dict[str, int]] = {}  # key index -> field -> count
    for (unit, minute), counted in minutes.items():
        slots, (mi, hi, di, moi) = _minute_args(minute)
        hour = slots[0][1]  # the minute shard: it fixes the other three shards too
        fields = hour_keys.get((unit, hour))
        if fields is None:
            fields = hour_keys[(unit, hour)] = tuple(
                buckets.setdefault(ref(k.buckets(unit, g, shard)), {}) for g, shard, _ in slots
            )
            for g, shard, _ in slots:
                shards.setdefault((unit, g), set()).add(shard)
        m_acc, h_acc, d_acc, mo_acc = fields
        for series, n in counted.items():
            name = mi + series
            m_acc[name] = m_acc.get(name, 0) + n
            name = hi + series
            h_acc[name] = h_acc.get(name, 0) + n
            name = di + series
            d_acc[name] = d_acc.get(name, 0) + n
            name = moi + series
            mo_acc[name] = mo_acc.get(name, 0) + n
    for i, acc in buckets.items():
        pairs = [x for name, n in acc.items() for x in (name, str(n))]
        for start in range(0, len(pairs), _CHUNK):
            ops.append(["HINCRBY", i, *pairs[start : start + _CHUNK]])
    for (unit, g), present in sorted(shards.items()):
        add_many(
            "ZADD", k.bucket_index(unit, g), [x for i in sorted(present) for x in (str(i),) * 2]
        )
    recent: dict[str, list[str]] = {}
    for item, dossier_id in delta.recent:  # one ZADD per unit; a repeated member: last wins
        recent.setdefault(item.unit, []).extend((repr(item.t), f"{item.series}|{dossier_id}"))
    for unit, pairs in recent.items():
        add_many("ZADD", k.recent(unit), pairs)
    closed: dict[str, list[str]] = {}
    opened: dict[str, list[str]] = {}
    for dossier_id, (unit, due) in delta.open.items():  # each dossier once
        if due is None:
            closed.setdefault(unit, []).append(dossier_id)
        else:
            score = "+inf" if due == float("inf") else repr(due)
            opened.setdefault(unit, []).extend((score, dossier_id))
    for unit, ids in closed.items():
        add_many("ZREM", k.open(unit), ids)
    for unit, pairs in opened.items():
        add_many("ZADD", k.open(unit), pairs)
    changed = {item.unit for item in delta.items} | {u for u, _ in delta.open.values()}
    changed |= delta.units
    if changed:
        ops.append(["CHG", ref(k.stats), ref(k.changes), *sorted(changed)])
    if prep.epoch:
        add("HSETNX", k.stats, "epoch", prep.epoch)
    if prep.prune is not None:
        _prune_ops(prep.prune, k, shards, ops, ref)
    if extra_stats:
        add("HSET", k.stats, *(x for kv in extra_stats.items() for x in kv))
    return declared, ops


def _prune_ops(
    prune: Prune,
    k: PartitionKeys,
    added: Mapping[tuple[str, str], set[int]],
    ops: list[_Op],
    ref: Callable[[str], int],
) -> None:
    """Append the prune's ops: after the batch's, so its own old shards go too.

    Args:
        prune: What :func:`prepare` read.
        k: The partition's keys.
        added: ``(unit, granularity) -> shards`` the batch writes.
        ops: The ops, appended to.
        ref: Index of a key in ``KEYS`` (declares it).
    """
    ops.append(["PURGE", ref(k.done), ref(k.dossiers), f"({prune.dossiers_before!r}"])
    doomed: list[int] = []
    trims: list[_Op] = []
    for unit in prune.units:
        for g in GRANULARITIES:
            first = prune.first_kept[g]
            gone = set(prune.stored.get((unit, g), ()))
            gone.update(s for s in added.get((unit, g), ()) if s < first)
            if gone:
                doomed += (ref(k.buckets(unit, g, s)) for s in sorted(gone))
                trims.append(
                    ["ZREMRANGEBYSCORE", ref(k.bucket_index(unit, g)), "-inf", f"({first}"]
                )
        trims.append(["ZREMRANGEBYSCORE", ref(k.recent(unit)), "-inf", f"({prune.recent_before!r}"])
    for start in range(0, len(doomed), _CHUNK):
        ops.append(["DEL", *doomed[start : start + _CHUNK]])
    ops += trims


async def commit(
    client: Redis, prep: Prepared, extra_stats: Mapping[str, str] | None = None
) -> bool:
    """Write a prepared batch and its offset atomically.

    Args:
        client: Async Redis client.
        prep: Output of :func:`prepare`.
        extra_stats: Fields set in the partition's stats hash in the same update,
            e.g. ``lag`` (messages) and ``wall`` (seconds since the epoch).

    Returns:
        ``True`` if written; ``False`` if the stored offset moved since
        :func:`prepare` (nothing written: prepare again).
    """
    expected = "" if prep.expected_offset is None else str(prep.expected_offset)
    keys, ops = _ops(prep, extra_stats)
    argv = (expected, str(prep.last_offset), _OPS_OUT.encode(ops))
    try:  # the script is cached by the server: send its SHA1, its text only when unknown
        result = await client.evalsha(_APPLY_SHA, len(keys), *keys, *argv)
    except NoScriptError:
        result = await client.eval(APPLY_LUA, len(keys), *keys, *argv)
    return bool(result)
