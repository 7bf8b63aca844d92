"""Apply a partition's batch to Redis atomically and exactly once.

:func:`prepare` reads the state a batch needs (one pipelined round trip), skips
messages at or below the partition's stored offset and folds the rest with the
pure engine. :func:`commit` then writes every change and the new offset in one Lua
script that first checks the stored offset is still the one read: if another
worker (after a rebalance) or an earlier attempt got there first, nothing is
written and the caller prepares again. A redelivered message is therefore never
counted twice, and a batch is never half applied.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import orjson
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from ioc_monitor.engine import Delta, fold, keys_to_load, parse_batch
from ioc_monitor.events import Rejection
from ioc_monitor.memstore import DEDUP_HORIZON_S, DOSSIER_HORIZON_S
from ioc_monitor.redis.keys import PartitionKeys
from ioc_monitor.rules import DossierState
from ioc_monitor.timeutil import hour_index
from ioc_monitor.windows import GRANULARITIES, bucket_slots, cutoffs, shard_cutoffs

__all__ = ["Prepared", "commit", "prepare"]

_APPLY_LUA: Final = """
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
local function hdel_all(key, fields)
  for s = 1, #fields, 500 do
    redis.call('HDEL', key, unpack(fields, s, math.min(s + 499, #fields)))
  end
end
for _, op in ipairs(cjson.decode(ARGV[3])) do
  if op[1] == 'PRUNE' then
    local tag = op[2]
    local cuts = {m = op[3], h = op[4], d = op[5], mo = op[6]}
    local rcut, ecut, dos_cut = op[7], op[8], op[9]
    local ids = redis.call('ZRANGEBYSCORE', tag .. ':done', '-inf', '(' .. dos_cut)
    if #ids > 0 then hdel_all(tag .. ':dos', ids) end
    redis.call('ZREMRANGEBYSCORE', tag .. ':done', '-inf', '(' .. dos_cut)
    redis.call('ZREMRANGEBYSCORE', tag .. ':eid', '-inf', '(' .. ecut)
    for _, unit in ipairs(redis.call('SMEMBERS', tag .. ':units')) do
      for g, cut in pairs(cuts) do
        local ikey = tag .. ':' .. g .. 'i:' .. unit
        local shards = redis.call('ZRANGEBYSCORE', ikey, '-inf', '(' .. cut)
        for _, shard in ipairs(shards) do
          redis.call('DEL', tag .. ':' .. g .. ':' .. unit .. ':' .. shard)
        end
        if #shards > 0 then redis.call('ZREMRANGEBYSCORE', ikey, '-inf', '(' .. cut) end
      end
      redis.call('ZREMRANGEBYSCORE', tag .. ':rc:' .. unit, '-inf', '(' .. rcut)
    end
  else
    redis.call(op[1], unpack(op, 2))
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""

_APPLY_SHA: Final = hashlib.sha1(_APPLY_LUA.encode()).hexdigest()
_CHUNK: Final = 200  # arguments per Redis command inside the script (Lua unpack limit)


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
    """

    keys: PartitionKeys
    expected_offset: int | None
    last_offset: int
    previous_watermark: float | None
    delta: Delta
    dead_letters: list[tuple[int, bytes, Rejection]]
    skipped: int


class _Loaded:
    """Lookup over the rows read for one batch."""

    def __init__(self, dossiers: dict[str, DossierState], seen: set[str]) -> None:
        self._dossiers = dossiers
        self._seen = seen

    def dossier(self, dossier_id: str) -> DossierState | None:
        return self._dossiers.get(dossier_id)

    def seen(self, event_id: str) -> bool:
        return event_id in self._seen


async def prepare(
    client: Redis,
    keys: PartitionKeys,
    messages: Sequence[tuple[int, bytes]],
    units: Container[str],
) -> Prepared | None:
    """Read what a batch needs and fold the messages not applied yet.

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
    dossier_ids, event_ids = keys_to_load(parsed)
    dossiers: dict[str, DossierState] = {}
    seen: set[str] = set()
    if dossier_ids:
        d_list = sorted(dossier_ids)
        e_list = sorted(event_ids)
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(keys.offset)
            pipe.hmget(keys.dossiers, d_list)
            pipe.zmscore(keys.events, e_list)
            again, rows, scores = await pipe.execute()
        if again != stored_raw:  # moved between the two reads: the commit guard will refuse
            return await prepare(client, keys, messages, units)
        dossiers = {
            d: DossierState.decode(r.decode()) for d, r in zip(d_list, rows, strict=True) if r
        }
        seen = {e for e, s in zip(e_list, scores, strict=True) if s is not None}
    watermark = float(wm_raw) if wm_raw is not None else None
    delta = fold(parsed, _Loaded(dossiers, seen), watermark)
    dead = [(todo[pos][0], todo[pos][1], rej) for pos, rej in delta.rejections]
    return Prepared(
        keys=keys,
        expected_offset=stored,
        last_offset=todo[-1][0],
        previous_watermark=watermark,
        delta=delta,
        dead_letters=dead,
        skipped=len(messages) - len(todo),
    )


def _ops(prep: Prepared) -> list[list[str]]:
    """Turn a prepared batch into the script's commands, ``[op, key, args...]`` of strings."""
    ops: list[list[str]] = []
    k = prep.keys
    delta = prep.delta

    def add(op: str, key: str, *args: str) -> None:
        ops.append([op, key, *args])

    def add_many(op: str, key: str, pairs: Sequence[str]) -> None:
        for start in range(0, len(pairs), _CHUNK):
            ops.append([op, key, *pairs[start : start + _CHUNK]])

    stats: Counter[str] = Counter({f"rej:{r}": n for r, n in delta.rejected.items()})
    stats["processed"] += delta.processed
    stats["duplicate"] += delta.duplicate
    for field, n in stats.items():
        if n:
            add("HINCRBY", k.stats, field, str(n))
    if delta.watermark is not None and delta.watermark != prep.previous_watermark:
        add("HSET", k.stats, "wm", repr(delta.watermark))
    if delta.units:
        add_many("SADD", k.units, sorted(delta.units))
    add_many("HSET", k.dossiers, [x for d, s in delta.dossiers.items() for x in (d, s.encode())])
    add_many("ZADD", k.done, [x for d, t in delta.completed.items() for x in (repr(t), d)])
    add_many("ZADD", k.events, [x for e, t in delta.events.items() for x in (repr(t), e)])
    # Count per (unit, granularity, shard, bucket, series) first, format each key once.
    totals: Counter[tuple[str, str]] = Counter()
    counts: Counter[tuple[str, str, int, int, str]] = Counter()
    for item in delta.items:
        unit, series = item.unit, item.series
        totals[(unit, series)] += 1
        for g, shard, idx in bucket_slots(item.t):
            counts[(unit, g, shard, idx, series)] += 1
    increments: list[tuple[str, str, str]] = [
        (k.totals(unit), series, str(n)) for (unit, series), n in totals.items()
    ]
    shards: dict[tuple[str, str], set[int]] = {}
    keys: dict[tuple[str, str, int], str] = {}
    for (unit, g, shard, idx, series), n in counts.items():
        key = keys.get((unit, g, shard))
        if key is None:
            key = keys[(unit, g, shard)] = k.buckets(unit, g, shard)
            shards.setdefault((unit, g), set()).add(shard)
        increments.append((key, f"{idx}|{series}", str(n)))
    for key, field, n_text in sorted(increments):
        add("HINCRBY", key, field, n_text)
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
    wm, prev = delta.watermark, prep.previous_watermark
    if wm is not None and (prev is None or hour_index(wm) != hour_index(prev)):
        cut = cutoffs(wm)
        shard_cut = shard_cutoffs(cut)
        add(
            "PRUNE",
            k.tag,
            *(str(shard_cut[g]) for g in GRANULARITIES),  # the script's m, h, d, mo
            repr(cut.recent),
            repr(wm - DEDUP_HORIZON_S),
            repr(wm - DOSSIER_HORIZON_S),
        )
    return ops


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
    ops = _ops(prep)
    if extra_stats:
        ops.append(["HSET", prep.keys.stats, *(x for kv in extra_stats.items() for x in kv)])
    argv = (expected, str(prep.last_offset), orjson.dumps(ops))
    try:  # the script is cached by the server: send its SHA1, its text only when unknown
        result = await client.evalsha(_APPLY_SHA, 1, prep.keys.offset, *argv)
    except NoScriptError:
        result = await client.eval(_APPLY_LUA, 1, prep.keys.offset, *argv)
    return bool(result)
