--[[
  Add units a refund returned to a product's cached level, after MySQL's level took
  them, and only in the cache epoch the caller saw before its MySQL commit. If Redis
  lost its data since, the epoch marker is new (or not set yet) and the level is, or
  will be, loaded from MySQL, which has the units already: adding them again would put
  the cache above MySQL, and a checkout could sell units that do not exist.

  KEYS[1]  stock key ({p}:stock:<productId>)
  KEYS[2]  cache epoch marker ({p}:epoch)

  ARGV[1]  units returned (a positive integer)
  ARGV[2]  the epoch marker's value the caller read before its MySQL commit

  Returns {code, available}
    0 OK, 2 NOT_LOADED (not cached: its next load reads MySQL), 6 KEY_MISMATCH (another
    epoch: nothing added), 7 INVALID_ARGUMENT
]]
local units = tonumber(ARGV[1])
-- The bound also rejects inf and nan, which tonumber accepts.
if not units or not (units > 0 and units <= 1e15) or units ~= math.floor(units) then return {7, 0} end
if redis.call("GET", KEYS[2]) ~= ARGV[2] then return {6, 0} end
local level = redis.call("GET", KEYS[1])
if not level then return {2, 0} end
return {0, redis.call("INCRBY", KEYS[1], units)}
