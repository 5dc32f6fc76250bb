--[[
  Find the first line of a client's cart that the cached stock cannot cover, in one
  round trip: the API answers a sold-out checkout from this without queueing a job.
  A product whose level is not cached counts as covered (the worker decides), and so
  does every line while a checkout of this client is in flight: the new request joins
  that checkout, whose own reservation may be what took the level to zero.

  KEYS[1]  the API's copy of the client's cart ({p}:cartcopy:<clientId>), a hash of
           product id -> quantity
  KEYS[2]  the client's checkout lock ({p}:lock:checkout:<clientId>)

  ARGV[1]  the stock key prefix ({p}:stock:). The stock keys are built from it rather
           than passed, because the cart's products are only known here; they carry the
           same hash tag, so they live in the cluster slot of KEYS.
  ARGV[2]  the field that marks a copy as edited (no product id can be it): skipped as a
           line, and reported with a shortfall, so the caller knows whether the copy may
           run ahead of MySQL. Optional.

  Returns {code} or {code, productId, available, edited}
    0 OK (every line is covered, the cart copy is empty, or a checkout is in flight),
    1 INSUFFICIENT_STOCK (edited: 1 when the copy carries the ARGV[2] field, else 0)
]]
if redis.call("EXISTS", KEYS[2]) == 1 then return {0} end
local mark = ARGV[2]
local cart = redis.call("HGETALL", KEYS[1])
for i = 1, #cart, 2 do
  if cart[i] ~= mark then
    local level = redis.call("GET", ARGV[1] .. cart[i])
    if level then
      local available = tonumber(level)
      if available < tonumber(cart[i + 1]) then
        local edited = 0
        if mark then edited = redis.call("HEXISTS", KEYS[1], mark) end
        return {1, cart[i], math.max(0, available), edited}
      end
    end
  end
end
return {0}
