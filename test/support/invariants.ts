/**
 * Whole-system invariants of checkout, checked against the real MySQL and Redis of a
 * test env once the system has gone quiet. Every violation is collected and reported
 * at once, so a failure names everything that is off, not just the first thing.
 */
import { Queue } from "bullmq";
import { expect } from "vitest";
import {
  PAID_STATES,
  QUEUE_NAMES,
  createRedis,
  redisTarget,
  wasPaid,
  type OrderState,
  type RedisClient,
} from "@oms/shared";
import { flushReservations } from "@oms/workers";
import { scanAll, type TestEnv } from "./env";
import { checkRefunds, pendingRefunds } from "./refund-invariants";

export interface ProductFigures {
  productId: string;
  initial: number;
  /** product_details.quantity after the flush. */
  mysql: number;
  /** Units in order_items of orders whose checkout completed (cancelled and refunded ones too). */
  sold: number;
  /** Units refunds returned to stock. */
  returned: number;
  /** The cached available level (null when the key is absent). */
  redis: number | null;
}

export interface ConservationReport {
  products: ProductFigures[];
  completedOrders: number;
  failedOrders: number;
  violations: string[];
}

export interface QuiescenceOptions {
  /** How long to wait for in-flight checkouts and flushes to finish. */
  timeoutMs?: number;
}

export interface ConservationOptions extends QuiescenceOptions {
  /** Accept a product whose stock key is not cached (its next load reads MySQL). Default false. */
  allowUncached?: boolean;
  /** The design keeps no stock level in Redis (the benchmark's MySQL-only designs): none is compared. */
  withoutCache?: boolean;
}

/** Sleeps without keeping the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Polls `probe` until it returns a value that is not undefined, or throws after the timeout. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | null>,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    // null is "not yet" too: a Redis GET of a key not set yet answers null, and a probe
    // that returned it once made a test pass without waiting for anything.
    if (value !== undefined && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Checkout jobs still waiting, delayed or running in this env's queue. */
export async function unfinishedCheckoutJobs(env: TestEnv<RedisClient>): Promise<number> {
  return withCheckoutQueue(env, (queue) => unfinishedJobs(queue));
}

async function unfinishedJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts("active", "waiting", "delayed", "prioritized", "waiting-children");
  return Object.values(counts).reduce((s, n) => s + n, 0);
}

async function withCheckoutQueue<T>(env: TestEnv<RedisClient>, fn: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = createRedis(redisTarget(env.config), { forQueue: true, name: `invariants-${env.id}` });
  const queue = new Queue(QUEUE_NAMES.checkout, { connection, prefix: env.keys.queuePrefix("checkout") });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

async function count(env: TestEnv<RedisClient>, table: string, where: Record<string, string> = {}): Promise<number> {
  const row = (await env.db(table).where(where).count({ n: "*" }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/**
 * Waits until no checkout job is in flight, no order of these products is pending, and
 * every committed decrement has been applied to product_details (flushing here too;
 * other flushers may hold rows with SKIP LOCKED, so it loops until the table is empty).
 */
export async function waitForQuiescence(
  env: TestEnv<RedisClient>,
  productIds: string[],
  options: QuiescenceOptions = {},
): Promise<{ lastFlushError: string | null }> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  let lastFlushError: string | null = null;
  await withCheckoutQueue(
    env,
    (queue) =>
      eventually(
        "checkout jobs to finish and no order to be pending",
        async () => {
          const jobs = await unfinishedJobs(queue);
          const pending = (await ordersOf(env, productIds)).filter((o) => o.state === "pending").length;
          // A recorded refund is not at rest until the provider confirmed it.
          const refunds = await pendingRefunds(env.db);
          return jobs === 0 && pending === 0 && refunds === 0 ? true : undefined;
        },
        timeoutMs,
      ).catch(() => undefined), // a stuck pending order is reported by the checks below
  );
  await eventually(
    "reserve_purchase to be flushed",
    async () => {
      // A deadlock with a worker's flush is retried here; an error that persists is reported.
      lastFlushError = await flushReservations(env.db, 1000).then(
        () => null,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      return (await count(env, "reserve_purchase")) === 0 ? true : undefined;
    },
    timeoutMs,
  ).catch(() => undefined); // left-over rows are reported by the checks below
  return { lastFlushError };
}

/**
 * Flushes until no reserve_purchase row is left. A worker's own flush job may hold some
 * rows (SKIP LOCKED passes them by), so one call can return before they are applied.
 */
export async function flushAll(env: TestEnv<RedisClient>, timeoutMs = 15_000): Promise<void> {
  await eventually(
    "reserve_purchase to be flushed",
    async () => {
      await flushReservations(env.db, 1000);
      return (await count(env, "reserve_purchase")) === 0 ? true : undefined;
    },
    timeoutMs,
  );
}

interface OrderRow {
  order_id: string;
  state: string;
  total_cents: number | string;
  payment_ref: string | null;
}

/** Orders with at least one line of these products (a test's own orders, when its products are its own). */
async function ordersOf(env: TestEnv<RedisClient>, productIds: string[]): Promise<OrderRow[]> {
  if (productIds.length === 0) return [];
  return (await env
    .db("orders")
    .whereIn("order_id", env.db("order_items").whereIn("product_id", productIds).distinct("order_id"))
    .select("order_id", "state", "total_cents", "payment_ref")) as OrderRow[];
}

/** Whether a hold record touches one of these products; null when there is no record. */
async function holdTouches(
  env: TestEnv<RedisClient>,
  orderId: string,
  stockKeys: Set<string>,
): Promise<boolean | null> {
  const parts = await Promise.all(env.keys.shards.map((shard) => env.redis.hgetall(env.keys.hold(orderId, shard))));
  const found = parts.filter((hold) => hold.state);
  if (found.length === 0) return null;
  return found.some((hold) =>
    Object.entries(hold).some(([field, value]) => /^k\d+$/.test(field) && stockKeys.has(value)),
  );
}

/**
 * Live holds on these products: members of the expiry set (or members with no record
 * at all) and hold records still "held" or "committing".
 */
async function liveHolds(
  env: TestEnv<RedisClient>,
  productIds: string[],
): Promise<{ expiring: string[]; open: string[] }> {
  const stockKeys = new Set(productIds.map((id) => env.keys.stock(id)));
  const expiring: string[] = [];
  const open: string[] = [];
  for (const shard of env.keys.shards) {
    for (const orderId of await env.redis.zrange(env.keys.holdExpiries(shard), 0, -1)) {
      if ((await holdTouches(env, orderId, stockKeys)) !== false) expiring.push(orderId);
    }
    const prefix = env.keys.hold("", shard);
    for (const key of await scanAll(env.redis, `${prefix}*`)) {
      const orderId = key.slice(prefix.length);
      const state = await env.redis.hget(key, "state");
      if ((state === "held" || state === "committing") && (await holdTouches(env, orderId, stockKeys)))
        open.push(`${orderId}=${state}`);
    }
  }
  return { expiring, open };
}

/**
 * The figures and every violated invariant, after waiting for quiescence:
 * - per product: MySQL quantity + units sold by completed orders == initial stock + units
 *   refunds returned (completed: every order whose checkout completed, cancelled or not);
 * - per product: cached available stock == MySQL quantity (no holds, nothing unflushed);
 * - no reserve_purchase rows; no live holds, no units counted as held and no pending
 *   orders on these products;
 * - every completed order has exactly one succeeded payment, of its total, with its reference;
 * - no failed order (and no unknown order id) has a succeeded payment;
 * - never refunded twice (refund-invariants.ts): each refund confirmed once by the
 *   provider, no order or line refunded past what was paid or bought.
 */
export async function conservationReport(
  env: TestEnv<RedisClient>,
  initialStock: Map<string, number>,
  options: ConservationOptions = {},
): Promise<ConservationReport> {
  const productIds = [...initialStock.keys()];
  const { lastFlushError } = await waitForQuiescence(env, productIds, options);
  const violations: string[] = [];

  const quantities = new Map(
    (
      (await env.db("product_details").whereIn("product_id", productIds).select("product_id", "quantity")) as Array<{
        product_id: string;
        quantity: number;
      }>
    ).map((r) => [r.product_id, Number(r.quantity)]),
  );
  const soldRows = (await env
    .db("order_items as i")
    .join("orders as o", "o.order_id", "i.order_id")
    .whereIn("o.state", PAID_STATES)
    .whereIn("i.product_id", productIds)
    .groupBy("i.product_id")
    .select("i.product_id")
    .sum({ sold: "i.quantity" })) as Array<{ product_id: string; sold: number | string }>;
  const sold = new Map(soldRows.map((r) => [r.product_id, Number(r.sold)]));
  // One GET per key: a product's level lives in its shard's slot.
  const cached = await Promise.all(productIds.map((id) => env.redis.get(env.keys.stock(id))));
  const refunds = await checkRefunds(env.db);
  violations.push(...refunds.violations);

  const products: ProductFigures[] = productIds.map((productId, i) => {
    const initial = initialStock.get(productId) ?? 0;
    const mysql = quantities.get(productId);
    const raw = cached[i];
    const figures: ProductFigures = {
      productId,
      initial,
      mysql: mysql ?? Number.NaN,
      sold: sold.get(productId) ?? 0,
      returned: refunds.returned.get(productId) ?? 0,
      redis: raw === null || raw === undefined ? null : Number(raw),
    };
    if (mysql === undefined) violations.push(`product ${productId} is missing from product_details`);
    if (figures.mysql + figures.sold !== initial + figures.returned)
      violations.push(
        `product ${productId}: MySQL quantity ${figures.mysql} + sold ${figures.sold} = ${figures.mysql + figures.sold}, expected initial ${initial} + returned ${figures.returned}`,
      );
    if (options.withoutCache) {
      // Nothing to compare.
    } else if (figures.redis === null) {
      if (!options.allowUncached) violations.push(`product ${productId}: stock level is not cached in Redis`);
    } else if (figures.redis !== figures.mysql) {
      violations.push(`product ${productId}: Redis available ${figures.redis} != MySQL quantity ${figures.mysql}`);
    }
    return figures;
  });

  const leftover = await count(env, "reserve_purchase");
  if (leftover !== 0)
    violations.push(
      `${leftover} reserve_purchase rows left after the flush${lastFlushError ? ` (flush error: ${lastFlushError})` : ""}`,
    );

  const heldKey = (id: string) => env.keys.held(env.keys.shardOf(id));
  const held = await Promise.all(productIds.map((id) => env.redis.hget(heldKey(id), id)));
  productIds.forEach((id, i) => {
    const units = held[i];
    if (units !== null && units !== undefined && Number(units) !== 0)
      violations.push(`product ${id}: ${units} units still counted as held in ${heldKey(id)}`);
  });

  const holds = await liveHolds(env, productIds);
  if (holds.expiring.length)
    violations.push(`live holds in the expiry sets: ${holds.expiring.slice(0, 10).join(", ")}`);
  if (holds.open.length) violations.push(`holds still open: ${holds.open.slice(0, 10).join(", ")}`);

  const orders = await ordersOf(env, productIds);
  const payments = (await env
    .db("payments")
    .select("idempotency_key", "order_id", "status", "amount_cents", "provider_ref")) as Array<{
    idempotency_key: string;
    order_id: string;
    status: string;
    amount_cents: number | string;
    provider_ref: string | null;
  }>;
  const succeededByOrder = new Map<string, typeof payments>();
  for (const p of payments) {
    if (p.status !== "succeeded") continue;
    const list = succeededByOrder.get(p.order_id) ?? [];
    list.push(p);
    succeededByOrder.set(p.order_id, list);
  }
  const known = new Set(
    ((await env.db("orders").select("order_id")) as Array<{ order_id: string }>).map((o) => o.order_id),
  );
  let completedOrders = 0;
  let failedOrders = 0;
  for (const o of orders) {
    const charges = succeededByOrder.get(o.order_id) ?? [];
    // A cancelled, refunded or shipped order was paid like a completed one: its charge stands.
    switch (wasPaid(o.state as OrderState) ? "completed" : o.state) {
      case "pending":
        violations.push(`order ${o.order_id} is still pending`);
        break;
      case "completed": {
        completedOrders++;
        const [charge] = charges;
        if (charges.length !== 1 || !charge) {
          violations.push(`completed order ${o.order_id} has ${charges.length} succeeded payments`);
        } else {
          if (Number(charge.amount_cents) !== Number(o.total_cents))
            violations.push(`order ${o.order_id}: charged ${charge.amount_cents}, total ${o.total_cents}`);
          if (charge.provider_ref !== o.payment_ref)
            violations.push(`order ${o.order_id}: payment_ref ${o.payment_ref} != charge ${charge.provider_ref}`);
        }
        break;
      }
      case "failed":
        failedOrders++;
        if (charges.length) violations.push(`failed order ${o.order_id} has a succeeded payment`);
        break;
      default:
        violations.push(`order ${o.order_id} has unknown state ${o.state}`);
    }
  }
  for (const [orderId, charges] of succeededByOrder) {
    if (!known.has(orderId))
      violations.push(`succeeded payment ${charges[0]?.idempotency_key} for unknown order ${orderId}`);
  }

  return { products, completedOrders, failedOrders, violations };
}

/** Asserts every invariant of `conservationReport`; returns the report for further checks. */
export async function assertConservation(
  env: TestEnv<RedisClient>,
  initialStock: Map<string, number>,
  options: ConservationOptions = {},
): Promise<ConservationReport> {
  const report = await conservationReport(env, initialStock, options);
  expect(report.violations, `invariants violated; figures: ${JSON.stringify(report.products)}`).toEqual([]);
  return report;
}

/** Outbox events of these orders, counted by type. */
export async function eventCounts(env: TestEnv, orderIds: string[]): Promise<Record<string, number>> {
  const rows = (await env.db("events").whereIn("order_id", orderIds).select("type")) as Array<{ type: string }>;
  return rows.reduce<Record<string, number>>((n, r) => ({ ...n, [r.type]: (n[r.type] ?? 0) + 1 }), {});
}
