--[[
  Declare the stock cache trusted again after a recovery, only if the recovering process
  still holds the recovery lease: one whose lease lapsed (it froze, another process took
  over) must not set the epoch on work it may not have finished.

  KEYS[1]  the recovery lease key, whose value is the holder's token
  KEYS[2]  the epoch marker

  ARGV[1]  token of the recovering process
  ARGV[2]  epoch marker value

  Returns {code}
    0 OK (epoch set, lease released), 9 NOT_OWNER (the lease was lost)
]]
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return {9} end
redis.call("SET", KEYS[2], ARGV[2])
redis.call("DEL", KEYS[1])
return {0}
