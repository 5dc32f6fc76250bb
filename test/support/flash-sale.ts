/**
 * A flash sale over HTTP: many clients at once each put one unit of a scarce product in
 * their cart and check out, retrying what the API says may be retried (503, with the
 * same Idempotency-Key, so a retry joins the checkout it may have started). What each
 * client was told is kept, so a test can hold the system to it afterwards.
 */
import { expect } from "vitest";
import type { RedisClient } from "@oms/shared";
import { insertProducts, type TestEnv } from "./env";
import { assertConservation, eventually, sleep } from "./invariants";
import { postJson } from "./system";

export interface Told {
  clientID: string;
  /** The products in the client's cart, one unit each. */
  productIDs: string[];
  /** HTTP status of the last checkout answer (0: never checked out, the cart add was refused). */
  status: number;
  orderId?: string;
}

export interface SaleOptions {
  products: string[];
  clients: number;
  /** Products in each cart (client i takes products i, i+1, ...); default 1. */
  perCart?: number;
  /** Clients in flight at once. */
  concurrency?: number;
  /** Runs once this many clients have been answered (a failover mid-sale). */
  midSale?: { after: number; run: () => Promise<void> };
  /** How long a client keeps retrying answers of 503 (the API's "try again"). */
  retryForMs?: number;
}

/**
 * Settings of a system under a sale with faults: the API waits long enough to answer
 * most checkouts itself, the reconciler and the hold sweep run often (they close what a
 * failover loses), no rate limit (every client is one test), and stock-taking writes
 * wait for a replica.
 */
export const SALE_SETTINGS: Record<string, string> = {
  CHECKOUT_TIMEOUT_MS: "15000",
  RECONCILE_INTERVAL_MS: "1000",
  HOLD_SWEEP_INTERVAL_MS: "500",
  RATE_LIMIT_PER_MINUTE: "0",
  REDIS_WAIT_REPLICAS: "1",
  REDIS_WAIT_TIMEOUT_MS: "200",
};

/** `count` new products `<prefix>-<i>` of `quantity` units each; answers their initial stock. */
export async function saleProducts(
  env: TestEnv<RedisClient>,
  prefix: string,
  count: number,
  quantity: number,
): Promise<Map<string, number>> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await insertProducts(
    env.db,
    ids.map((id) => ({ id, quantity })),
  );
  return new Map(ids.map((id) => [id, quantity]));
}

async function retrying<T extends { status: number }>(retryForMs: number, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + retryForMs;
  for (;;) {
    const res = await call().catch(() => ({ status: 0 }) as T);
    // 0: the connection failed; 503: Redis or MySQL is unreachable for now.
    if ((res.status !== 503 && res.status !== 0) || Date.now() > deadline) return res;
    await sleep(100);
  }
}

/** Runs the sale; resolves with what every client was told once every client is answered. */
export async function flashSale(apiUrl: string, options: SaleOptions): Promise<Told[]> {
  const { products, clients, concurrency = 20, retryForMs = 30_000 } = options;
  const run = `s${Math.random().toString(36).slice(2, 8)}`;
  const told: Told[] = [];
  let next = 0;
  let midSale: Promise<void> | undefined;
  const client = async (i: number): Promise<Told> => {
    const clientID = `${run}-c${i}`;
    const productIDs = Array.from(
      { length: options.perCart ?? 1 },
      (_, k) => products[(i + k) % products.length] ?? "",
    );
    for (const productID of productIDs) {
      const added = await retrying(retryForMs, () =>
        postJson(`${apiUrl}/addToCart`, { clientID, productID, quantity: 1 }),
      );
      if (added.status !== 200) return { clientID, productIDs, status: 0 };
    }
    const res = await retrying(retryForMs, () =>
      postJson<{ status: string; orderId?: string }>(
        `${apiUrl}/checkOutCart`,
        { clientID },
        { "Idempotency-Key": `sale-${clientID}` },
      ),
    );
    return { clientID, productIDs, status: res.status, orderId: res.body?.orderId };
  };
  const lane = async () => {
    while (next < clients) {
      told.push(await client(next++));
      if (options.midSale && !midSale && told.length >= options.midSale.after) midSale = options.midSale.run();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  await midSale;
  return told;
}

/**
 * What a sale must leave: every order a client was told about (200, or 202 Pending)
 * ends within `boundMs`; every 200 is a completed order; no product sold more than it
 * had; and only 200, 202, 402 and 409 were answered.
 */
export async function expectSaleKeptItsWord(
  env: TestEnv<RedisClient>,
  told: Told[],
  initialStock: Map<string, number>,
  boundMs = 30_000,
): Promise<void> {
  const answered = told.filter((t) => t.status !== 0);
  expect(answered.length).toBeGreaterThan(0);
  expect(answered.filter((t) => ![200, 202, 402, 409].includes(t.status))).toEqual([]);
  const orderIds = answered.filter((t) => t.status === 200 || t.status === 202).map((t) => t.orderId ?? "?");
  const states = await eventually(
    "every told order to end",
    async () => {
      const rows = (await env.db("orders").whereIn("order_id", orderIds).select("order_id", "state")) as Array<{
        order_id: string;
        state: string;
      }>;
      return rows.length === orderIds.length && rows.every((r) => r.state !== "pending")
        ? new Map(rows.map((r) => [r.order_id, r.state]))
        : undefined;
    },
    boundMs,
    200,
  );
  for (const t of answered.filter((a) => a.status === 200))
    expect(states.get(t.orderId ?? ""), `${t.clientID} was told Success`).toBe("completed");
  const sold = (await env
    .db("order_items as i")
    .join("orders as o", "o.order_id", "i.order_id")
    .where("o.state", "completed")
    .whereIn("i.product_id", [...initialStock.keys()])
    .groupBy("i.product_id")
    .select("i.product_id")
    .sum({ units: "i.quantity" })) as Array<{ product_id: string; units: number | string }>;
  for (const row of sold)
    expect(Number(row.units), row.product_id).toBeLessThanOrEqual(initialStock.get(row.product_id) ?? 0);
}

/**
 * Conservation, given time: after a failover or a node restarted empty, the reconciler
 * and the hold sweep close what the lost writes left. Asserts once more at the end, so
 * a failure names the violations.
 */
export async function expectConservedWithin(
  env: TestEnv<RedisClient>,
  initialStock: Map<string, number>,
  timeoutMs = 30_000,
): Promise<void> {
  const conserved = () =>
    assertConservation(env, initialStock).then(
      () => true,
      () => undefined,
    );
  await eventually("conservation", conserved, timeoutMs, 1_000).catch(() => undefined);
  await assertConservation(env, initialStock);
}
