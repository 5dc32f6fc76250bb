--[[
  Extend or release a lease, but only for the holder that still has it: a holder that
  was frozen past the lease must learn that it lost it, and neither take it back from
  its successor nor delete the successor's lease.

  KEYS[1]  the lease key, whose value is the holder's token

  ARGV[1]  token of the holder that believes it holds the lease
  ARGV[2]  "extend" or "release"
  ARGV[3]  new time to live in ms (extend only)

  Returns {code}
    0 OK (extended or released), 9 NOT_OWNER (the lease is gone or another token holds it)
]]
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return {9} end
if ARGV[2] == "release" then
  redis.call("DEL", KEYS[1])
else
  redis.call("PEXPIRE", KEYS[1], ARGV[3])
end
return {0}
