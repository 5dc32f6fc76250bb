/**
 * A failover to a replica that missed the primary's last writes can lose the Redis step
 * that follows an order's end in MySQL: the hold's commit, or its release. The hold
 * sweep finds live holds whose order already ended and finishes them as the saga would,
 * so no units stay held for good and stock is conserved. The lost step is recreated
 * here by putting the hold back the way the replica would have it.
 */
import { expect, test } from "vitest";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { addToCartOk, postJson, type InProcessWorkers, type RunningApi } from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";
import { useSystem } from "../../../test/support/fixture";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;

useSystem({ INVENTORY_SHARDS: "2", HOLD_SWEEP_INTERVAL_MS: "200" }, (system) => ({ env, api, workers } = system));

/** Puts an ended hold back live, as a replica that missed its end would hold it. */
async function undoHoldEnd(orderId: string, productId: string, units: number, state: "held" | "committing") {
  const shard = env.keys.shardOf(productId);
  const hold = env.keys.hold(orderId, shard);
  expect(await env.redis.hget(hold, "state")).toMatch(/^(committed|released)$/);
  const wasReleased = (await env.redis.hget(hold, "state")) === "released";
  await env.redis.persist(hold);
  await env.redis.hset(hold, "state", state, "exp", Date.now() + 3_600_000);
  await env.redis.zadd(env.keys.holdExpiries(shard), state === "held" ? Date.now() + 3_600_000 : "+inf", orderId);
  await env.redis.hincrby(env.keys.held(shard), productId, units);
  // A release the replica missed also left the units out of the level.
  if (wasReleased) await env.redis.decrby(env.keys.stock(productId), units);
}

async function checkout(clientID: string, productId: string, paymentToken: string) {
  await addToCartOk(api.url, clientID, productId, 2);
  const res = await postJson<{ orderId: string }>(`${api.url}/checkOutCart`, { clientID, paymentToken });
  return { status: res.status, orderId: res.body.orderId };
}

test("a completed order whose hold commit was lost: the sweep commits the hold, its units leave the held count", async () => {
  await insertProducts(env.db, [{ id: "settle-a", quantity: 5 }]);
  const { status, orderId } = await checkout("settle-c1", "settle-a", "tok_ok");
  expect(status).toBe(200);
  await undoHoldEnd(orderId, "settle-a", 2, "committing");
  expect(await workers.deps.engine.liveHoldIds(100)).toContain(orderId);

  await eventually("the lost commit to be settled", async () =>
    (await workers.deps.engine.hold(orderId))?.state === "committed" ? true : undefined,
  );
  await assertConservation(env, new Map([["settle-a", 5]]));
});

test("a failed order whose hold release was lost: the sweep releases it and the stock comes back", async () => {
  await insertProducts(env.db, [{ id: "settle-b", quantity: 5 }]);
  const { status, orderId } = await checkout("settle-c2", "settle-b", "tok_decline");
  expect(status).toBe(402);
  await undoHoldEnd(orderId, "settle-b", 2, "held");

  await eventually("the lost release to be settled", async () =>
    (await workers.deps.engine.hold(orderId))?.state === "released" ? true : undefined,
  );
  await assertConservation(env, new Map([["settle-b", 5]]));
});
