--[[
  Apply a change of stock (a restock, or a correction) to the cached level, when the
  level is cached. An uncached level is left alone: its next load reads MySQL, which
  already has the change.

  KEYS[1]  stock key ({p}:stock:<productId>)

  ARGV[1]  signed change of available stock
  ARGV[2]  optional: "guarded" refuses a decrease that would take the level below zero
           (the level is what is left after sold-but-unflushed and held units, so a
           warehouse level may not drop below what is already spoken for)

  Returns {code, available}
    0 OK, 1 INSUFFICIENT_STOCK (available: the level, unchanged), 2 NOT_LOADED,
    7 INVALID_ARGUMENT
]]
local delta = tonumber(ARGV[1])
-- The bound also rejects inf and nan, which tonumber accepts.
if not delta or not (math.abs(delta) <= 1e15) or delta ~= math.floor(delta) then return {7, 0} end
local level = redis.call("GET", KEYS[1])
if not level then return {2, 0} end
if ARGV[2] == "guarded" and delta < 0 and tonumber(level) + delta < 0 then return {1, tonumber(level)} end
return {0, redis.call("INCRBY", KEYS[1], delta)}
