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
 * C. As B, but MySQL is unreachable for the moment the API records its pending
 *    placeholder (the fix for B): the 202 is still given, and Redis then loses the job
 *    (full runs, seeds 4099353789 and 3435366964: a MySQL cut, then a Redis restart).
 *
 * Uses its own database and key prefix on the shared MariaDB, and for B and C its own
 * redis-server on a free port (the shared Redis is never restarted) and, for C, a TCP
 * proxy in front of MariaDB that it cuts (the shared server is never touched).
 */
import { join } from "node:path";
import { tmpdir } from "node:os";
import { MYSQL_URL, createTestEnv, insertProducts } from "../support/env";
import { getJson, postJson, startApi, startInProcessWorkers } from "../support/system";
import { CuttableProxy, OwnRedis, freePort, sleep } from "./infra";

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

async function redisLoss(placeholderFails: boolean): Promise<boolean> {
  const label = placeholderFails ? "C" : "B";
  const redis = new OwnRedis(await freePort(), join(tmpdir(), `oms-repro-${process.pid}`));
  await redis.start();
  // MySQL through a proxy that C cuts while the checkout is answered.
  const proxy = new CuttableProxy("127.0.0.1", Number(new URL(MYSQL_URL).port || 3306));
  const proxyPort = await proxy.listen();
  const env = await createTestEnv({ REDIS_URL: redis.url });
  const api = await startApi(env, { DATABASE_URL: env.config.DATABASE_URL.replace(/:\d+\//, `:${proxyPort}/`) });
  try {
    await insertProducts(env.db, [{ id: "p1", quantity: 5 }]);
    await env.db("client_cart").insert({ client_id: "bob", product_id: "p1", quantity: 1 });
    const cut = placeholderFails ? proxy.cut(2_000, "refuse") : Promise.resolve();
    // No worker has picked the job up yet (all busy, or all restarting).
    const res = await postJson(`${api.url}/checkOutCart`, { clientID: "bob" }, { prefer: "respond-async" });
    const orderId = String(res.body.orderId);
    console.log(`${label}. POST /checkOutCart -> ${res.status} ${JSON.stringify(res.body)}`);
    await cut;
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
    await proxy.close();
    await redis.kill();
  }
}

const a = await emptyCart();
const b = await redisLoss(false);
const c = await redisLoss(true);
console.log(`A reproduced: ${a}; B reproduced: ${b}; C reproduced: ${c}`);
process.exit(0);
