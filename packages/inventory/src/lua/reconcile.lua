--[[
  Compare a product's cached level with what MySQL implies, and optionally repair it.
  MySQL's figure (quantity minus pending reserve_purchase) must equal the cached
  available stock plus the units held, less the units of holds whose order MySQL has
  already sold (the checkout committed in MySQL and has not yet committed its hold
  here: commit-3.lua will take those units out of `held`, so they are not drift).
  The repair applies only when the drift is the one the caller measured before (a
  second look), and never while a stock change of the product is in flight
  (stock-change-2.lua): a half of it not landed yet is not drift, and "repairing" it
  would count that half twice once it lands.

  KEYS[1]     stock key ({p}:stock:<productId>)
  KEYS[2]     hash of units held per product ({p}:held)
  KEYS[3]     the product's stock changes in flight ({p}:stockchanges:<productId>)
  KEYS[4..n]  hold hashes of orders MySQL counts as sold, read before ARGV[2] was
              ({p}:hold:<orderId>; any of them may be committed, released or gone)

  ARGV[1]  product id (field of KEYS[2])
  ARGV[2]  what MySQL says can be sold: quantity minus pending reserve_purchase
  ARGV[3]  mode: "check" or "repair"
  ARGV[4]  the drift a previous check measured (used by "repair")

  Returns {code, drift, repaired}
    code      0 OK, 2 NOT_LOADED, 7 INVALID_ARGUMENT
    drift     MySQL's figure minus (available + held - units MySQL already sold)
    repaired  1 when the level was moved by the drift
]]
local truth = tonumber(ARGV[2])
if not truth or not (math.abs(truth) <= 1e15) or truth ~= math.floor(truth) then return {7, 0, 0} end
local available = redis.call("GET", KEYS[1])
if not available then return {2, 0, 0} end
local held = tonumber(redis.call("HGET", KEYS[2], ARGV[1]) or "0")
-- Units still held here whose sale MySQL already counts: a hold that is still live.
local sold = 0
for k = 4, #KEYS do
  local state = redis.call("HGET", KEYS[k], "state")
  if state == "held" or state == "committing" then
    local lines = tonumber(redis.call("HGET", KEYS[k], "n") or "0")
    for i = 1, lines do
      if redis.call("HGET", KEYS[k], "p" .. i) == ARGV[1] then
        sold = sold + tonumber(redis.call("HGET", KEYS[k], "q" .. i))
      end
    end
  end
end
local drift = truth - (tonumber(available) + held - sold)
if ARGV[3] == "repair" and drift ~= 0 and drift == tonumber(ARGV[4]) then
  -- Redis's clock, as stock-change-2.lua reads it: changes past their time are over.
  local time = redis.call("TIME")
  redis.call("ZREMRANGEBYSCORE", KEYS[3], "-inf", "(" .. (tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)))
  if redis.call("ZCARD", KEYS[3]) > 0 then return {0, drift, 0} end
  redis.call("INCRBY", KEYS[1], drift)
  return {0, drift, 1}
end
return {0, drift, 0}
