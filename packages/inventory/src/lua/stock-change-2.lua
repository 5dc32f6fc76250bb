--[[
  A change of a product's level made in two halves, one in MySQL and one here (a
  restock, a set below the level, a refund's returned units): begin, move, end. While a
  change is in flight the reconciler leaves the product alone (reconcile-3.lua), so it
  cannot "repair" a half that has not landed yet and then see that half land too. A move
  only lands in the change's own lifetime, and only on a level that was cached when the
  change began: a level loaded from MySQL since may already count the change.

  KEYS[1]  stock key ({p}:stock:<productId>)
  KEYS[2]  the product's changes in flight ({p}:stockchanges:<productId>), a sorted set
           of "<change id>:c" or "<change id>:u" (cached or not when it began) -> expiry ms

  ARGV[1]  "begin", "move" or "end"
  ARGV[2]  change id
  ARGV[3]  begin: time to live in ms; move: the change of the level (an integer)
  ARGV[4]  move: "guarded" (refuse to go below zero) or "plain"
  ARGV[5]  move: "end" (the change is over once moved) or "keep"

  Time is Redis's own (TIME), the same clock the reconciler's script reads, so an API
  and a worker on machines whose clocks differ still agree on when a change expired.

  Returns {code, value}
    0 OK (begin: value 1 when the level was cached; move: the new level), 1 INSUFFICIENT_STOCK
    (guarded move; value: the level), 2 NOT_LOADED (the level was not cached when the change
    began, or is not now: nothing moved, MySQL's level is read when it loads), 7 INVALID_ARGUMENT,
    10 CHANGE_EXPIRED (the change outlived its time to live, or Redis lost it: nothing moved;
    the cache stays low until the reconciler raises it)
]]
local id = ARGV[2]
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cachedMember, uncachedMember = id .. ":c", id .. ":u"

if ARGV[1] == "begin" then
  local ttl = tonumber(ARGV[3])
  if not ttl or ttl <= 0 then return {7, 0} end
  local cached = redis.call("EXISTS", KEYS[1]) == 1
  redis.call("ZADD", KEYS[2], now + ttl, cached and cachedMember or uncachedMember)
  redis.call("PEXPIRE", KEYS[2], ttl)
  return {0, cached and 1 or 0}
end

if ARGV[1] == "end" then
  redis.call("ZREM", KEYS[2], cachedMember, uncachedMember)
  return {0, 0}
end

if ARGV[1] ~= "move" then return {7, 0} end
local delta = tonumber(ARGV[3])
if not delta or delta ~= math.floor(delta) or not (math.abs(delta) <= 1e15) then return {7, 0} end
local ending = ARGV[5] == "end"
local cachedUntil = tonumber(redis.call("ZSCORE", KEYS[2], cachedMember))
local uncachedUntil = tonumber(redis.call("ZSCORE", KEYS[2], uncachedMember))
local untilMs = cachedUntil or uncachedUntil
if not untilMs or untilMs < now then
  redis.call("ZREM", KEYS[2], cachedMember, uncachedMember)
  return {10, 0}
end
local level = redis.call("GET", KEYS[1])
if not cachedUntil or not level then
  if ending then redis.call("ZREM", KEYS[2], cachedMember, uncachedMember) end
  return {2, 0}
end
level = tonumber(level)
if ARGV[4] == "guarded" and level + delta < 0 then return {1, level} end
local after = redis.call("INCRBY", KEYS[1], delta)
if ending then redis.call("ZREM", KEYS[2], cachedMember) end
return {0, after}
