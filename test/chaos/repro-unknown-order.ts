/**
 * Minimal reproductions of the chaos suite's "accepted checkout MySQL does not know"
 * violations: the API answers 202 Pending with an order id, and GET /orders/<id> later
 * answers 404 "unknown order" for good.
 *
 *   npx tsx test/chaos/repro-unknown-order.ts
 *
 * A. The checkout job ends with "empty_cart" (or "busy"): no order row is written, and
 *    GET /orders/<id> cannot report the outcome once the job is no longer live.
 * B. Redis loses its data while the job waits: the job is gone, no row was ever written,
 *    and the recovery has nothing to end.
 *
 * Uses its own database and key prefix on the shared MariaDB, and for B its own
 * redis-server on a free port (the shared Redis is never restarted).
 */
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createTestEnv, insertProducts } from "../support/env";
import { getJson, postJson, startApi, startInProcessWorkers } from "../support/system";
import { OwnRedis, freePort, sleep } from "./infra";

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  return undefined;
}

async function emptyCart(): Promise<boolean> {
  const env = await createTestEnv();
  const api = await startApi(env);
  try {
    // The shopper's add-to-cart timed out (504) and has not applied yet: the cart is empty.
    const res = await postJson(
      `${api.url}/checkOutCart`,
      { clientID: "alice" },
      { prefer: "respond-async", "idempotency-key": "k1" },
    );
    const orderId = String(res.body.orderId);
    console.log(`A. POST /checkOutCart -> ${res.status} ${JSON.stringify(res.body)}`);
    const workers = await startInProcessWorkers(env);
    try {
      const job = await until(async () => {
        const j = await api.deps.queues.checkout.getJob(orderId);
        return j?.finishedOn ? j : undefined;
      });
      console.log(`   the job finished: ${JSON.stringify(job?.returnvalue)}`);
      const order = await getJson(`${api.url}/orders/${orderId}`);
      console.log(`   GET /orders/${orderId} -> ${order.status} ${JSON.stringify(order.body)}`);
      return res.status === 202 && order.status === 404;
    } finally {
      await workers.close();
    }
  } finally {
    await api.close();
    await env.close();
  }
}

async function redisLoss(): Promise<boolean> {
  const redis = new OwnRedis(await freePort(), join(tmpdir(), `oms-repro-${process.pid}`));
  await redis.start();
  const env = await createTestEnv({ REDIS_URL: redis.url });
  const api = await startApi(env);
  try {
    await insertProducts(env.db, [{ id: "p1", quantity: 5 }]);
    await env.db("client_cart").insert({ client_id: "bob", product_id: "p1", quantity: 1 });
    // No worker has picked the job up yet (all busy, or all restarting).
    const res = await postJson(`${api.url}/checkOutCart`, { clientID: "bob" }, { prefer: "respond-async" });
    const orderId = String(res.body.orderId);
    console.log(`B. POST /checkOutCart -> ${res.status} ${JSON.stringify(res.body)}`);
    await redis.restart(200);
    console.log("   Redis restarted without its data");
    const workers = await startInProcessWorkers(env);
    try {
      await sleep(3_000);
      const order = await getJson(`${api.url}/orders/${orderId}`);
      const row = await env.db("orders").where({ order_id: orderId }).first();
      const cart = await env.db("client_cart").where({ client_id: "bob" });
      console.log(`   GET /orders/${orderId} -> ${order.status} ${JSON.stringify(order.body)}`);
      console.log(`   orders row: ${row ? JSON.stringify(row) : "none"}; cart: ${JSON.stringify(cart)}`);
      return res.status === 202 && order.status === 404 && !row;
    } finally {
      await workers.close();
    }
  } finally {
    await api.close();
    await env.close();
    await redis.kill();
  }
}

const a = await emptyCart();
const b = await redisLoss();
console.log(`A reproduced: ${a}; B reproduced: ${b}`);
process.exit(0);
