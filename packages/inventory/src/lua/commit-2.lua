--[[
  Commit a hold: its stock is sold (the order is durable in MySQL); the stock never
  comes back. Safe to replay. The record is kept for a while so replays can see it.

  KEYS[1]  hold hash ({p}:hold:<orderId>)
  KEYS[2]  sorted set of live holds by expiry time

  ARGV[1]  reservation id (member of KEYS[2])
  ARGV[2]  how long to keep the ended hold record, in milliseconds

  Returns {code}
    0 OK (also when already committed), 3 HOLD_NOT_FOUND, 4 HOLD_RELEASED
]]
local state = redis.call("HGET", KEYS[1], "state")
if not state then return {3} end
if state == "released" then return {4} end
if state ~= "committed" then
  redis.call("HSET", KEYS[1], "state", "committed")
  redis.call("ZREM", KEYS[2], ARGV[1])
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return {0}
