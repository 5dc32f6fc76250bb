--[[
  Mark a hold as committing: payment is about to start, so expiry must no longer
  return its stock. The hold stays in the set of live holds (operators and the
  active-holds gauge read it) with an expiry of +inf: the sweep never reaches it, and
  only its commit or release takes it out. Safe to replay.

  KEYS[1]  hold hash ({p}:hold:<orderId>)
  KEYS[2]  sorted set of live holds by expiry time (+inf once payment began)

  ARGV[1]  reservation id (member of KEYS[2])

  Returns {code}
    0 OK (also when already committing or committed), 3 HOLD_NOT_FOUND, 4 HOLD_RELEASED
]]
local state = redis.call("HGET", KEYS[1], "state")
if not state then return {3} end
if state == "released" then return {4} end
if state == "held" then
  redis.call("HSET", KEYS[1], "state", "committing")
  redis.call("ZADD", KEYS[2], "+inf", ARGV[1])
end
return {0}
