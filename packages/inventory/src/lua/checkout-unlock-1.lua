--[[
  Drop a client's checkout lock, but only when this order still owns it, so a late
  replay cannot unlock a newer checkout of the same client.

  KEYS[1]  checkout lock ({p}:checkout:<clientId>), whose value is the owning order id

  ARGV[1]  order id that believes it owns the lock

  Returns {code}
    0 OK (deleted, or already gone), 9 NOT_OWNER
]]
local owner = redis.call("GET", KEYS[1])
if not owner then return {0} end
if owner ~= ARGV[1] then return {9} end
redis.call("DEL", KEYS[1])
return {0}
