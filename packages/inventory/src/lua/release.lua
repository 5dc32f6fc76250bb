--[[
  Release a hold: its stock comes back exactly once. A committed hold is never
  released. In "expired" mode only a hold still "held" whose time has passed is
  released, so expiry can never return the stock of an order that is paying.

  KEYS[1]    hold hash ({p}:hold:<orderId>)
  KEYS[2]    sorted set of live holds by expiry time (+inf once payment began)
  KEYS[3]    hash of units held per product ({p}:held)
  KEYS[4..n] stock keys of the hold's lines, in the order the hold recorded them

  ARGV[1]    reservation id (member of KEYS[2])
  ARGV[2]    how long to keep the ended hold record, in milliseconds
  ARGV[3]    mode: "any" or "expired"
  ARGV[4]    now, in milliseconds (used by "expired")

  Returns {code, replayed}
    code      0 OK, 3 HOLD_NOT_FOUND, 5 HOLD_COMMITTED, 6 KEY_MISMATCH, 8 NOT_EXPIRED
    replayed  1 when the hold was already released (nothing changed)
]]
local holdKey = KEYS[1]
local hold = redis.call("HMGET", holdKey, "state", "exp", "n")
local state, expiresAt, lines = hold[1], tonumber(hold[2]), tonumber(hold[3])
if not state then
  redis.call("ZREM", KEYS[2], ARGV[1])
  return {3, 0}
end
if state == "released" then return {0, 1} end
if state == "committed" then return {5, 0} end
if ARGV[3] == "expired" and (state ~= "held" or expiresAt > tonumber(ARGV[4])) then return {8, 0} end
if lines ~= #KEYS - 3 then return {6, 0} end
for i = 1, lines do
  if redis.call("HGET", holdKey, "k" .. i) ~= KEYS[i + 3] then return {6, 0} end
end

for i = 1, lines do
  local quantity = tonumber(redis.call("HGET", holdKey, "q" .. i))
  local product = redis.call("HGET", holdKey, "p" .. i)
  if redis.call("HINCRBY", KEYS[3], product, -quantity) <= 0 then redis.call("HDEL", KEYS[3], product) end
  -- A stock key that is gone was lost with the cache; its reload from MySQL will not
  -- count this hold, so creating the key here would count the stock twice.
  if redis.call("EXISTS", KEYS[i + 3]) == 1 then
    redis.call("INCRBY", KEYS[i + 3], quantity)
  end
end
redis.call("HSET", holdKey, "state", "released")
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("PEXPIRE", holdKey, ARGV[2])
return {0, 0}
