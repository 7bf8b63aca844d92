"""The exporter's read script (Lua), kept apart from the Python that calls it.

Called with ``KEYS`` = the ``units`` set of each partition read and ``ARGV`` = clock
T (``''``: none), end of T's minute in seconds, the JSON of
:func:`ioc_monitor.windows.shard_spans` (each span with a 5th item, ``true`` when it
covers its whole shard), the JSON of the series names, then the
partitions' hash tags (one per key, same order). Reading several partitions in one
script makes them one instant and adds their counts up inside Redis; on a Redis
Cluster it is called once per partition (a script stays in one hash slot).

Returns ``[stats, row, row, ...]``: ``stats`` is each partition's stats hash as a
flat ``[field, value, ...]`` list, and each row is ``[unit, totals, minutes, hours,
days, months, recent, in_progress, overdue]`` for one unit over those partitions.
Totals and buckets are flat ``[field, count, ...]`` lists summed over the
partitions; only the buckets in the needed index range of each shard are counted
(the whole shard with ``HGETALL`` when it is small, else ``HMGET`` of the range's
fields). ``recent`` is ``[member, score, ...]`` of the items after T in T's minute;
``overdue`` counts open dossiers due before T (0 without a clock).
"""

from __future__ import annotations

from typing import Final

__all__ = ["READ_LUA"]

READ_LUA: Final = """
local t, m_end = ARGV[1], ARGV[2]
local spans, series = cjson.decode(ARGV[3]), cjson.decode(ARGV[4])
local stats, tags_of, order = {}, {}, {}
for i = 5, #ARGV do
  local tag = ARGV[i]
  stats[#stats + 1] = redis.call('HGETALL', tag .. ':stats')
  for _, unit in ipairs(redis.call('SMEMBERS', KEYS[i - 4])) do
    local tags = tags_of[unit]
    if not tags then
      tags = {}
      tags_of[unit] = tags
      order[#order + 1] = unit
    end
    tags[#tags + 1] = tag
  end
end
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
local out = {stats}
for _, unit in ipairs(order) do
  local tot, acc, recent, card, over = {}, {{}, {}, {}, {}}, {}, 0, 0
  for _, tag in ipairs(tags_of[unit]) do
    add_flat(tot, redis.call('HGETALL', tag .. ':tot:' .. unit))
    for _, s in ipairs(spans) do
      local key = tag .. ':' .. s[1] .. ':' .. unit .. ':' .. s[2]
      local a = acc[gs[s[1]]]
      if s[5] then
        add_flat(a, redis.call('HGETALL', key))
      else
        local n = redis.call('HLEN', key)
        if n > 0 and n <= (s[4] - s[3] + 1) * #series then
          add_flat(a, redis.call('HGETALL', key))
        elseif n > 0 then
          local names = {}
          for idx = s[3], s[4] do
            for _, name in ipairs(series) do names[#names + 1] = idx .. '|' .. name end
          end
          local values = redis.call('HMGET', key, unpack(names))
          for i = 1, #names do
            if values[i] then a[names[i]] = (a[names[i]] or 0) + tonumber(values[i]) end
          end
        end
      end
    end
    local open = tag .. ':open:' .. unit
    card = card + redis.call('ZCARD', open)
    if t ~= '' then
      local rc = redis.call('ZRANGEBYSCORE', tag .. ':rc:' .. unit, '(' .. t, '(' .. m_end,
                            'WITHSCORES')
      for _, x in ipairs(rc) do recent[#recent + 1] = x end
      over = over + redis.call('ZCOUNT', open, '-inf', '(' .. t)
    end
  end
  out[#out + 1] = {unit, to_flat(tot), to_flat(acc[1]), to_flat(acc[2]), to_flat(acc[3]),
                   to_flat(acc[4]), recent, card, over}
end
return out
"""
