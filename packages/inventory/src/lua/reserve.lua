--[[
  Reserve every line of a cart at once: all or nothing, never below zero.

  KEYS[1]    hold hash of this reservation ({p}:hold:<orderId>)
  KEYS[2]    sorted set of live holds by expiry time, +inf once payment began ({p}:holds:expiry)
  KEYS[3]    hash of units held per product, not yet committed or released ({p}:held)
  KEYS[4..n] stock key of each line ({p}:stock:<productId>)

  ARGV[1]    reservation id (the order id), the member stored in KEYS[2]
  ARGV[2]    now, in milliseconds
  ARGV[3]    hold lifetime, in milliseconds
  ARGV[4..]  product id of each line, in the order of KEYS[4..], then the quantity of
             each line in the same order

  Returns {code, line, available, replayed}
    code      0 OK, 1 INSUFFICIENT_STOCK, 2 NOT_LOADED, 4 HOLD_RELEASED, 7 INVALID_ARGUMENT
    line      1-based line that failed (0 when none)
    available stock of that line when it was short (0 otherwise)
    replayed  1 when this reservation id already held its stock (nothing changed)
]]
local holdKey = KEYS[1]
local lines = #KEYS - 3
if lines < 1 or #ARGV ~= 2 * lines + 3 then return {7, 0, 0, 0} end

local state = redis.call("HGET", holdKey, "state")
if state then
  if state == "released" then return {4, 0, 0, 1} end
  return {0, 0, 0, 1}
end

local quantities = {}
for i = 1, lines do
  local q = tonumber(ARGV[lines + i + 3])
  -- The bound also rejects inf and nan, which tonumber accepts.
  if not q or not (q >= 1 and q <= 1e15) or q ~= math.floor(q) then return {7, i, 0, 0} end
  quantities[i] = q
end

-- Check every line before touching any, so a short line changes nothing. A product on
-- two lines is checked against the sum of both.
local wanted = {}
for i = 1, lines do
  local key = KEYS[i + 3]
  wanted[key] = (wanted[key] or 0) + quantities[i]
  local available = redis.call("GET", key)
  if not available then return {2, i, 0, 0} end
  available = tonumber(available)
  if available < wanted[key] then return {1, i, available, 0} end
end

local expiresAt = tonumber(ARGV[2]) + tonumber(ARGV[3])
local fields = {"state", "held", "exp", expiresAt, "n", lines}
for i = 1, lines do
  redis.call("DECRBY", KEYS[i + 3], quantities[i])
  redis.call("HINCRBY", KEYS[3], ARGV[i + 3], quantities[i])
  fields[#fields + 1] = "k" .. i
  fields[#fields + 1] = KEYS[i + 3]
  fields[#fields + 1] = "p" .. i
  fields[#fields + 1] = ARGV[i + 3]
  fields[#fields + 1] = "q" .. i
  fields[#fields + 1] = quantities[i]
end
redis.call("HSET", holdKey, unpack(fields))
redis.call("ZADD", KEYS[2], expiresAt, ARGV[1])
return {0, 0, 0, 0}
