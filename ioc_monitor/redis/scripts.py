"""The Lua scripts of the state store and their calling conventions.

The Python that builds their arguments is in :mod:`ioc_monitor.redis.writer` and
:mod:`ioc_monitor.redis.reader`. Neither script builds a key name: every key it
touches comes in ``KEYS`` (named by :mod:`ioc_monitor.redis.keys`), as Redis asks of
scripts (a Redis Cluster routes a script by its keys; ACL key patterns are checked on
them). Each script's first line is ``local call = redis.call`` and every Redis call
goes through ``call``, so a test can swap that line for a version that checks each
key argument is declared.

**Apply** (:data:`APPLY_LUA`, one partition's batch). ``KEYS[1]`` = the partition's
offset key, then every other key the batch touches, each once. ``ARGV`` = the
expected stored offset (``''``: none), the new offset, and the ops as one MessagePack
array (decoded by Redis' ``cmsgpack``, about half the time of the same ops as JSON
with ``cjson``), each one of:

- ``[command, i, arg, ...]``: ``command KEYS[i] arg ...`` (a single-key command);
- ``["HINCRBY", i, field, n, field, n, ...]``: ``HINCRBY KEYS[i] field n`` for each pair
  (one op per hash);
- ``["DEL", i, j, ...]``: ``DEL KEYS[i] KEYS[j] ...``;
- ``["PURGE", i_done, i_dossiers, max]``: the dossier ids of ``KEYS[i_done]`` scored
  below ``max`` (a ``ZRANGEBYSCORE`` bound such as ``(1.7e9``) are deleted from the
  hash ``KEYS[i_dossiers]`` and from ``KEYS[i_done]``;
- ``["CHG", i_stats, i_changes, unit, ...]``: the change log. ``HINCRBY
  KEYS[i_stats] seq 1`` gives the commit's sequence number ``s``, and each unit is
  added to the zset ``KEYS[i_changes]`` with score ``s`` (its last change).

If the stored offset is not the expected one nothing is written and it returns 0;
otherwise it runs the ops in order, stores the new offset and returns 1.

**Read** (:data:`READ_LUA`, the exporter's scrape). ``ARGV`` = clock T (``''``:
none), end of T's minute in seconds, the JSON of :func:`ioc_monitor.windows.shard_spans`
(each span with a 5th item, ``true`` when it covers its whole shard), the JSON of the
series names, the JSON list of the due-soon bounds (``T + within`` of each
:data:`~ioc_monitor.catalogue.DUE_SOON_WITHIN`, as score strings; ``[]`` without a
clock), then for each partition read: the number of members its ``units`` set must
have (``''``: not checked), its number of units to read ``n`` and the ``n`` unit ids.
``KEYS`` = for each partition in the same order: its ``units`` set, its ``stats`` hash,
then for each of its units in the same order
:meth:`~ioc_monitor.redis.keys.PartitionKeys.read_keys` (totals, one bucket shard per
span, open, recent). Reading several partitions in one script makes them one instant
and adds their counts up inside Redis; on a Redis Cluster it is called once per
partition (a script stays in one hash slot).

It returns ``false`` (``None`` in Python) when a checked ``units`` set no longer has the
given number of members (a unit was added since the caller read it; the set never
shrinks): read the units again. Otherwise ``[stats, row, row, ...]``: ``stats`` is each
partition's stats hash as a flat ``[field, value, ...]`` list, and each row is ``[unit,
totals, minutes, hours, days, months, recent, in_progress, overdue, due_soon, next_item,
next_dues]`` for one unit over those
partitions. Totals and buckets are flat ``[field, count, ...]`` lists summed over the
partitions; only the buckets in the needed index range of each shard are counted (the
whole shard with ``HGETALL`` when it is small, else ``HMGET`` of the range's fields).
``recent`` is ``[member, score, ...]`` of the items after T in T's minute;
``overdue`` counts open dossiers due before T (0 without a clock); ``due_soon`` counts,
per bound B, the open dossiers due in (T, B]. ``next_item`` is the earliest recent item
time after T (``''``: none) and ``next_dues`` the earliest due time after T and after
each bound B (``''``: none), as score strings: when the figures at T stop holding (see
:func:`ioc_monitor.windows.stable_until`).
"""

from __future__ import annotations

from typing import Final

__all__ = ["APPLY_LUA", "CALL_LINE", "READ_LUA"]

#: First line of both scripts: the one name every Redis call goes through.
CALL_LINE: Final = "local call = redis.call"

APPLY_LUA: Final = (
    CALL_LINE
    + """
local cur = call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
local function hdel_all(key, fields)
  for s = 1, #fields, 500 do
    call('HDEL', key, unpack(fields, s, math.min(s + 499, #fields)))
  end
end
for _, op in ipairs(cmsgpack.unpack(ARGV[3])) do
  local name = op[1]
  if name == 'DEL' then
    local keys = {}
    for j = 2, #op do keys[j - 1] = KEYS[op[j]] end
    call('DEL', unpack(keys))
  elseif name == 'CHG' then
    local seq = call('HINCRBY', KEYS[op[2]], 'seq', 1)
    local args = {}
    for j = 4, #op do
      args[#args + 1] = seq
      args[#args + 1] = op[j]
      if #args >= 400 then
        call('ZADD', KEYS[op[3]], unpack(args))
        args = {}
      end
    end
    if #args > 0 then call('ZADD', KEYS[op[3]], unpack(args)) end
  elseif name == 'HINCRBY' then
    local key = KEYS[op[2]]
    for j = 3, #op, 2 do call('HINCRBY', key, op[j], op[j + 1]) end
  elseif name == 'PURGE' then
    local done, max = KEYS[op[2]], op[4]
    local ids = call('ZRANGEBYSCORE', done, '-inf', max)
    if #ids > 0 then hdel_all(KEYS[op[3]], ids) end
    call('ZREMRANGEBYSCORE', done, '-inf', max)
  else
    call(name, KEYS[op[2]], unpack(op, 3))
  end
end
call('SET', KEYS[1], ARGV[2])
return 1
"""
)

READ_LUA: Final = (
    CALL_LINE
    + """
local t, m_end = ARGV[1], ARGV[2]
local spans, series = cjson.decode(ARGV[3]), cjson.decode(ARGV[4])
local soon_bounds = cjson.decode(ARGV[5])
local n_spans = #spans
local function add_flat(acc, flat)
  for j = 1, #flat, 2 do
    local f = flat[j]
    acc[f] = (acc[f] or 0) + tonumber(flat[j + 1])
  end
end
local function to_flat(acc)
  local flat = {}
  for f, n in pairs(acc) do
    flat[#flat + 1] = f
    flat[#flat + 1] = n
  end
  return flat
end
local gs = {m = 1, h = 2, d = 3, mo = 4}
local stats, rows, order = {}, {}, {}
local function earliest(current, reply)
  local x = reply[2] and tonumber(reply[2])
  if x == nil or x == math.huge then return current end
  if current == nil or x < current then return x end
  return current
end
local k, a = 1, 6
while a <= #ARGV do
  if ARGV[a] ~= '' and call('SCARD', KEYS[k]) ~= tonumber(ARGV[a]) then return false end
  a = a + 1
  local n = tonumber(ARGV[a])
  stats[#stats + 1] = call('HGETALL', KEYS[k + 1])
  k = k + 2
  for u = a + 1, a + n do
    local unit = ARGV[u]
    local row = rows[unit]
    if not row then
      row = {tot = {}, acc = {{}, {}, {}, {}}, recent = {}, card = 0, over = 0, soon = {},
             dues = {}}
      for i = 1, #soon_bounds do row.soon[i] = 0 end
      rows[unit] = row
      order[#order + 1] = unit
    end
    add_flat(row.tot, call('HGETALL', KEYS[k]))
    for j, s in ipairs(spans) do
      local key = KEYS[k + j]
      local acc = row.acc[gs[s[1]]]
      if s[5] then
        add_flat(acc, call('HGETALL', key))
      else
        local n_fields = call('HLEN', key)
        if n_fields > 0 and n_fields <= (s[4] - s[3] + 1) * #series then
          add_flat(acc, call('HGETALL', key))
        elseif n_fields > 0 then
          local names = {}
          for idx = s[3], s[4] do
            for _, name in ipairs(series) do names[#names + 1] = idx .. '|' .. name end
          end
          local values = call('HMGET', key, unpack(names))
          for i = 1, #names do
            if values[i] then acc[names[i]] = (acc[names[i]] or 0) + tonumber(values[i]) end
          end
        end
      end
    end
    local open = KEYS[k + n_spans + 1]
    row.card = row.card + call('ZCARD', open)
    if t ~= '' then
      local rc = call('ZRANGEBYSCORE', KEYS[k + n_spans + 2], '(' .. t, '(' .. m_end,
                      'WITHSCORES')
      for _, x in ipairs(rc) do row.recent[#row.recent + 1] = x end
      row.over = row.over + call('ZCOUNT', open, '-inf', '(' .. t)
      for i, bound in ipairs(soon_bounds) do
        row.soon[i] = row.soon[i] + call('ZCOUNT', open, '(' .. t, bound)
      end
      row.next = earliest(row.next, call('ZRANGEBYSCORE', KEYS[k + n_spans + 2], '(' .. t,
                                         '+inf', 'WITHSCORES', 'LIMIT', 0, 1))
      row.dues[1] = earliest(row.dues[1], call('ZRANGEBYSCORE', open, '(' .. t, '+inf',
                                               'WITHSCORES', 'LIMIT', 0, 1))
      for i, bound in ipairs(soon_bounds) do
        row.dues[i + 1] = earliest(row.dues[i + 1], call('ZRANGEBYSCORE', open, '(' .. bound,
                                                         '+inf', 'WITHSCORES', 'LIMIT', 0, 1))
      end
    end
    k = k + n_spans + 3
  end
  a = a + n + 1
end
local function score(x)
  if x == nil then return '' end
  return string.format('%.17g', x)
end
local out = {stats}
for _, unit in ipairs(order) do
  local row = rows[unit]
  local dues = {}
  for i = 1, #soon_bounds + 1 do dues[i] = score(row.dues[i]) end
  out[#out + 1] = {unit, to_flat(row.tot), to_flat(row.acc[1]), to_flat(row.acc[2]),
                   to_flat(row.acc[3]), to_flat(row.acc[4]), row.recent, row.card, row.over,
                   row.soon, score(row.next), dues}
end
return out
"""
)
