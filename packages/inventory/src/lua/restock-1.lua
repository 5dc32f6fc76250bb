--[[
  Apply a change of stock (a restock, or a correction) to the cached level, when the
  level is cached. An uncached level is left alone: its next load reads MySQL, which
  already has the change.

  KEYS[1]  stock key ({p}:stock:<productId>)

  ARGV[1]  signed change of available stock

  Returns {code, available}
    0 OK, 2 NOT_LOADED, 7 INVALID_ARGUMENT
]]
local delta = tonumber(ARGV[1])
-- The bound also rejects inf and nan, which tonumber accepts.
if not delta or not (math.abs(delta) <= 1e15) or delta ~= math.floor(delta) then return {7, 0} end
if redis.call("EXISTS", KEYS[1]) == 0 then return {2, 0} end
return {0, redis.call("INCRBY", KEYS[1], delta)}
