/**
 * Correctness after a run, at quiescence: no oversold unit, conservation of stock
 * (initial = MySQL quantity + units of completed orders, once the flush applied every
 * committed decrement), the cached level equal to MySQL, no order left pending, and
 * exactly one succeeded payment per completed order.
 */
import { Queue } from "bullmq";
import { QUEUE_NAMES, createRedis } from "@oms/shared";
import { flushReservations } from "@oms/workers";
import { sleep } from "./stats";
import type { CorrectnessChecks, DesignId } from "./types";
import { REDIS_URL, type World } from "./world";

export interface CheckInput {
  design: DesignId;
  initialStock: Map<string, number>;
  /** HTTP answers of the checkout phases: 200 (completed) and 202 (pending). */
  checkoutAnswers: { completed: number; pending: number };
  /** The scenario's product ids share this prefix: only orders of these products are counted. */
  productPrefix: string;
  /** add-to-cart runs: the client_cart rows of these products MySQL must hold (504 answers may or may not have added). */
  expectedCartRows?: { min: number; max: number };
  timeoutMs: number;
}

async function count(world: World, sql: string, bindings: unknown[] = []): Promise<number> {
  const [rows] = (await world.db.raw(sql, bindings as never)) as [Array<{ n: number | string }>];
  return Number(rows[0]?.n ?? 0);
}

/** Waits until a queue has no job waiting, delayed or running (or the timeout passes); false on timeout. */
export async function waitForQueueIdle(
  world: World,
  queueName: keyof typeof QUEUE_NAMES,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const connection = createRedis(REDIS_URL, { forQueue: true, name: `bench-idle-${world.id}` });
  const queue = new Queue(QUEUE_NAMES[queueName], { connection, prefix: world.keys.queuePrefix(queueName) });
  try {
    for (;;) {
      const counts = await queue.getJobCounts("active", "waiting", "delayed", "prioritized");
      if (Object.values(counts).every((n) => n === 0)) return true;
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Waits until no checkout job is in flight, no order is pending and every decrement is flushed. */
export async function waitForQuiescence(world: World, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  const connection = createRedis(REDIS_URL, { forQueue: true, name: `bench-checks-${world.id}` });
  const queue = new Queue(QUEUE_NAMES.checkout, { connection, prefix: world.keys.queuePrefix("checkout") });
  try {
    for (;;) {
      const counts = await queue.getJobCounts("active", "waiting", "delayed", "prioritized");
      const jobs = Object.values(counts).reduce((s, n) => s + n, 0);
      const pending = await count(world, "SELECT COUNT(*) AS n FROM orders WHERE state = 'pending'");
      if ((jobs === 0 && pending === 0) || Date.now() > deadline) break;
      await sleep(100);
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  for (;;) {
    // The workers flush on their own; flushing here too only makes it sooner (SKIP LOCKED).
    await flushReservations(world.db, 1000).catch(() => undefined);
    if ((await count(world, "SELECT COUNT(*) AS n FROM reserve_purchase")) === 0 || Date.now() > deadline) break;
    await sleep(100);
  }
  return (performance.now() - started) / 1000;
}

export async function checkCorrectness(world: World, input: CheckInput): Promise<CorrectnessChecks> {
  const quiescentAfterSeconds = await waitForQuiescence(world, input.timeoutMs);
  const violations: string[] = [];
  const productIds = [...input.initialStock.keys()];

  const quantities = new Map<string, number>();
  const sold = new Map<string, number>();
  for (let i = 0; i < productIds.length; i += 1000) {
    const ids = productIds.slice(i, i + 1000);
    const q = (await world.db("product_details").whereIn("product_id", ids).select("product_id", "quantity")) as Array<{
      product_id: string;
      quantity: number;
    }>;
    for (const r of q) quantities.set(r.product_id, Number(r.quantity));
    const s = (await world
      .db("order_items as i")
      .join("orders as o", "o.order_id", "i.order_id")
      .where("o.state", "completed")
      .whereIn("i.product_id", ids)
      .groupBy("i.product_id")
      .select("i.product_id")
      .sum({ sold: "i.quantity" })) as Array<{ product_id: string; sold: number | string }>;
    for (const r of s) sold.set(r.product_id, Number(r.sold));
  }

  const hasCache = input.design === "redis" || input.design === "redis-nolimit";
  const cached = new Map<string, number | null>();
  if (hasCache) {
    for (let i = 0; i < productIds.length; i += 1000) {
      const ids = productIds.slice(i, i + 1000);
      const values = await world.redis.mget(ids.map((id) => world.keys.stock(id)));
      ids.forEach((id, j) => {
        const v = values[j];
        cached.set(id, v === null || v === undefined ? null : Number(v));
      });
    }
  }

  let oversoldUnits = 0;
  let conservation = true;
  let redisMatches = true;
  let uncachedProducts = 0;
  for (const [productId, initial] of input.initialStock) {
    const mysql = quantities.get(productId);
    const units = sold.get(productId) ?? 0;
    oversoldUnits += Math.max(0, units - initial);
    if (mysql === undefined) {
      conservation = false;
      violations.push(`product ${productId} is missing from product_details`);
      continue;
    }
    if (mysql + units !== initial) {
      conservation = false;
      if (violations.length < 20)
        violations.push(`product ${productId}: MySQL ${mysql} + sold ${units} = ${mysql + units}, initial ${initial}`);
    }
    if (hasCache) {
      const level = cached.get(productId);
      if (level === null || level === undefined) uncachedProducts++;
      else if (level !== mysql) {
        redisMatches = false;
        if (violations.length < 20) violations.push(`product ${productId}: Redis available ${level} != MySQL ${mysql}`);
      }
    }
  }
  if (oversoldUnits > 0) violations.push(`${oversoldUnits} units oversold`);

  if (hasCache) {
    const held = (await world.redis.hvals(world.keys.held())).reduce((s, v) => s + Number(v), 0);
    if (held !== 0) violations.push(`${held} units still held in ${world.keys.held()}`);
    const expiring = await world.redis.zcard(world.keys.holdExpiries());
    if (expiring !== 0) violations.push(`${expiring} holds still live (held or paying)`);
  }

  const ours = `o.order_id IN (SELECT i.order_id FROM order_items i WHERE i.product_id LIKE ?)`;
  const like = [`${input.productPrefix}%`];
  const orders = (state: string) =>
    count(world, `SELECT COUNT(*) AS n FROM orders o WHERE o.state = '${state}' AND ${ours}`, like);
  const pendingOrders = await orders("pending");
  const completedOrders = await orders("completed");
  const failedOrders = await orders("failed");
  const unflushedRows = await count(world, "SELECT COUNT(*) AS n FROM reserve_purchase WHERE product_id LIKE ?", like);
  const paymentMismatches =
    (await count(
      world,
      `SELECT COUNT(*) AS n FROM orders o WHERE o.state = 'completed' AND ${ours} AND
         (SELECT COUNT(*) FROM payments p WHERE p.order_id = o.order_id AND p.status = 'succeeded') <> 1`,
      like,
    )) +
    (await count(
      world,
      `SELECT COUNT(*) AS n FROM orders o WHERE o.state <> 'completed' AND ${ours} AND
         EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.order_id AND p.status = 'succeeded')`,
      like,
    ));
  if (input.expectedCartRows !== undefined) {
    const rows = await count(world, "SELECT COUNT(*) AS n FROM client_cart WHERE product_id LIKE ?", like);
    const { min, max } = input.expectedCartRows;
    if (rows < min || rows > max)
      violations.push(`client_cart holds ${rows} rows; the answers allow ${min} (200) to ${max} (200 + 504)`);
  }
  if (pendingOrders) violations.push(`${pendingOrders} orders still pending`);
  if (unflushedRows) violations.push(`${unflushedRows} reserve_purchase rows not flushed`);
  if (paymentMismatches) violations.push(`${paymentMismatches} orders whose payments do not match their state`);

  const { completed, pending } = input.checkoutAnswers;
  const answersAgree =
    input.design === "noop" || (completed <= completedOrders && completedOrders <= completed + pending);
  if (!answersAgree)
    violations.push(`HTTP said ${completed} completed (+${pending} pending), MySQL has ${completedOrders} completed`);

  return {
    oversoldUnits,
    conservation,
    redisMatchesMysql: hasCache ? redisMatches : null,
    uncachedProducts,
    pendingOrders,
    completedOrders,
    failedOrders,
    unflushedRows,
    paymentMismatches,
    answersAgree,
    quiescentAfterSeconds: Math.round(quiescentAfterSeconds * 10) / 10,
    violations,
    ok: violations.length === 0,
  };
}
