--[[
  Commit a hold: its stock is sold (the order is durable in MySQL); the stock never
  comes back. Safe to replay. The record is kept for a while so replays can see it.

  KEYS[1]  hold hash ({p}:hold:<orderId>)
  KEYS[2]  sorted set of live holds by expiry time (+inf once payment began)
  KEYS[3]  hash of units held per product ({p}:held)

  ARGV[1]  reservation id (member of KEYS[2])
  ARGV[2]  how long to keep the ended hold record, in milliseconds

  Returns {code}
    0 OK (also when already committed), 3 HOLD_NOT_FOUND, 4 HOLD_RELEASED
]]
local holdKey = KEYS[1]
local state = redis.call("HGET", holdKey, "state")
if not state then return {3} end
if state == "released" then return {4} end
if state ~= "committed" then
  local lines = tonumber(redis.call("HGET", holdKey, "n"))
  for i = 1, lines do
    local product = redis.call("HGET", holdKey, "p" .. i)
    if redis.call("HINCRBY", KEYS[3], product, -tonumber(redis.call("HGET", holdKey, "q" .. i))) <= 0 then
      redis.call("HDEL", KEYS[3], product)
    end
  end
  redis.call("HSET", holdKey, "state", "committed")
  redis.call("ZREM", KEYS[2], ARGV[1])
  redis.call("PEXPIRE", holdKey, ARGV[2])
end
return {0}
