/**
 * Correctness after a run, at quiescence. The invariants are the test suite's
 * (test/support/invariants.ts: conservation per product, the cached level equal to
 * MySQL, no hold left, no order pending, exactly one succeeded payment of the right
 * amount per completed order); the benchmark adds what only it knows: the HTTP answers
 * it counted, and the figures it reports.
 */
import { Queue } from "bullmq";
import { PAID_STATES, QUEUE_NAMES, createRedis } from "@oms/shared";
import { loadSystemConfig } from "../test/support/config";
import { conservationReport } from "../test/support/invariants";
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

/** Waits until a queue has no job waiting, delayed or running (or the timeout passes); false on timeout. */
export async function waitForQueueIdle(world: World, queueName: keyof typeof QUEUE_NAMES, timeoutMs: number) {
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

export async function checkCorrectness(world: World, input: CheckInput): Promise<CorrectnessChecks> {
  const started = performance.now();
  const env = { ...world, config: loadSystemConfig(world.env()), close: async () => undefined };
  const hasCache = input.design === "redis" || input.design === "redis-nolimit";
  const report = await conservationReport(env, input.initialStock, {
    allowUncached: true,
    withoutCache: !hasCache,
    timeoutMs: input.timeoutMs,
  });
  const quiescentAfterSeconds = (performance.now() - started) / 1000;
  const violations = report.violations.slice(0, 20);
  const count = async (sql: string) => {
    const [rows] = (await world.db.raw(sql, [`${input.productPrefix}%`])) as [Array<{ n: number | string }>];
    return Number(rows[0]?.n ?? 0);
  };
  const ours = "o.order_id IN (SELECT i.order_id FROM order_items i WHERE i.product_id LIKE ?)";
  const succeeded = "(SELECT COUNT(*) FROM payments p WHERE p.order_id = o.order_id AND p.status = 'succeeded')";
  const paid = `o.state IN (${PAID_STATES.map((state) => `'${state}'`).join(", ")})`;
  if (input.expectedCartRows !== undefined) {
    const rows = await count("SELECT COUNT(*) AS n FROM client_cart WHERE product_id LIKE ?");
    const { min, max } = input.expectedCartRows;
    if (rows < min || rows > max)
      violations.push(`client_cart holds ${rows} rows; the answers allow ${min} (200) to ${max} (200 + 504)`);
  }
  const { completed, pending } = input.checkoutAnswers;
  const answersAgree =
    input.design === "noop" || (completed <= report.completedOrders && report.completedOrders <= completed + pending);
  if (!answersAgree)
    violations.push(
      `HTTP said ${completed} completed (+${pending} pending), MySQL has ${report.completedOrders} completed`,
    );
  const products = report.products;
  return {
    // Refunds return units to stock: they can be sold again.
    oversoldUnits: products.reduce((s, p) => s + Math.max(0, p.sold - p.initial - p.returned), 0),
    conservation: products.every((p) => p.mysql + p.sold === p.initial + p.returned),
    redisMatchesMysql: hasCache ? products.every((p) => p.redis === null || p.redis === p.mysql) : null,
    uncachedProducts: hasCache ? products.filter((p) => p.redis === null).length : 0,
    pendingOrders: await count(`SELECT COUNT(*) AS n FROM orders o WHERE o.state = 'pending' AND ${ours}`),
    completedOrders: report.completedOrders,
    failedOrders: report.failedOrders,
    unflushedRows: await count("SELECT COUNT(*) AS n FROM reserve_purchase WHERE product_id LIKE ?"),
    paymentMismatches: await count(
      `SELECT COUNT(*) AS n FROM orders o WHERE ${ours} AND ${succeeded} <> IF(${paid}, 1, 0)`,
    ),
    answersAgree,
    quiescentAfterSeconds: Math.round(quiescentAfterSeconds * 10) / 10,
    violations,
    ok: violations.length === 0,
  };
}
