/**
 * Each design's ceiling at its bottleneck alone, without HTTP, queues or workers:
 * - the reserve Lua script against Redis (InventoryEngine.reserve, many concurrent
 *   callers over a few connections);
 * - the classic reservation transaction against MySQL (the SQL of locking-saga.ts,
 *   many concurrent connections).
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { createDb, createRedis, withTransaction, type Knex } from "@oms/shared";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import type { BenchOptions } from "./options";
import { cpuSeconds, type WatchedProcess } from "./proc";
import type { Progress } from "./progress";
import { AMPLE_STOCK } from "./scenarios";
import { round, summarize } from "./stats";
import type { CeilingResult } from "./types";
import { REDIS_URL, World, waitReady } from "./world";

const HOT = ["hot-a", "hot-b", "hot-c"];

interface Loop {
  operations: number;
  failures: number;
  latencies: number[];
  seconds: number;
  serverCpuPercent: number;
  clientCpuPercent: number;
}

/** Runs `op` from `concurrency` callers for `seconds` (or until it returns false). */
async function loop(
  label: string,
  concurrency: number,
  seconds: number,
  server: WatchedProcess | null,
  progress: Progress,
  op: () => Promise<boolean>,
): Promise<Loop> {
  const latencies: number[] = [];
  let failures = 0;
  let stopped = false;
  const serverCpu0 = server ? cpuSeconds(server.pid) : Number.NaN;
  const self0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  progress.start(label, { durationMs: seconds * 1000 });
  const timer = setInterval(
    () => progress.update({ done: latencies.length, ok: latencies.length - failures, rejected: 0, errors: failures }),
    100,
  );
  const caller = async () => {
    while (!stopped && performance.now() < deadline) {
      const t0 = performance.now();
      try {
        if (!(await op())) {
          stopped = true;
          break;
        }
      } catch {
        failures++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  clearInterval(timer);
  const elapsed = (performance.now() - start) / 1000;
  const self = process.cpuUsage(self0);
  const serverCpu = server ? cpuSeconds(server.pid) - serverCpu0 : Number.NaN;
  return {
    operations: latencies.length - failures,
    failures,
    latencies,
    seconds: elapsed,
    serverCpuPercent: Number.isFinite(serverCpu) ? round((100 * serverCpu) / elapsed) : 0,
    clientCpuPercent: round((100 * (self.user + self.system)) / 1e6 / elapsed),
  };
}

function result(
  name: string,
  description: string,
  lines: number,
  concurrency: number,
  connections: number,
  l: Loop,
): CeilingResult {
  const s = summarize(l.latencies);
  return {
    name,
    description,
    lines,
    concurrency,
    connections,
    operations: l.operations,
    seconds: round(l.seconds, 2),
    opsPerSecond: round(l.operations / l.seconds),
    latencyMs: {
      p50: round(s.p50, 2),
      p95: round(s.p95, 2),
      p99: round(s.p99, 2),
      max: round(s.max, 1),
      mean: round(s.mean, 2),
    },
    serverCpuPercent: l.serverCpuPercent,
    clientCpuPercent: l.clientCpuPercent,
    failures: l.failures,
  };
}

/** InventoryEngine.reserve of `lines` hot products, each call a new order id. */
export async function luaCeiling(
  opts: BenchOptions,
  lines: number,
  redisPid: number | null,
  progress: Progress,
): Promise<CeilingResult> {
  const c = opts.ceilings;
  if (!c) throw new Error("ceilings are off");
  const world = await World.create();
  const connections: Redis[] = [];
  try {
    const products = HOT.slice(0, lines);
    await world.seedProducts(products.map((id) => ({ id, quantity: AMPLE_STOCK })));
    for (const id of products) await world.redis.set(world.keys.stock(id), AMPLE_STOCK);
    for (let i = 0; i < c.redisConnections; i++) {
      const r = createRedis(REDIS_URL, { name: `bench-lua-${i}` });
      await waitReady(r);
      connections.push(r);
    }
    const engines = connections.map((r) => new InventoryEngine(r, world.keys, mysqlTruth(world.db)));
    const stockLines = products.map((productId) => ({ productId, quantity: 1 }));
    let n = 0;
    const l = await loop(
      `ceiling redis reserve x${lines}`,
      c.concurrency,
      c.seconds,
      redisPid ? { name: "redis-server", pid: redisPid } : null,
      progress,
      async () => {
        const engine = engines[n++ % engines.length];
        if (!engine) return false;
        const r = await engine.reserve(randomUUID(), stockLines, 600_000);
        if (!r.ok) throw new Error(`reserve failed: ${r.reason}`);
        return true;
      },
    );
    const res = result(
      `redis-lua-reserve-${lines}`,
      `InventoryEngine.reserve (one Lua call) of ${lines} hot product${lines > 1 ? "s" : ""}, ${c.concurrency} callers over ${c.redisConnections} connections`,
      lines,
      c.concurrency,
      c.redisConnections,
      l,
    );
    progress.finish(
      `${res.opsPerSecond} reserves/s, p99 ${res.latencyMs.p99} ms, redis-server CPU ${res.serverCpuPercent}%`,
    );
    return res;
  } finally {
    for (const r of connections) r.disconnect();
    await world.destroy();
  }
}

/**
 * The reservation transaction of apps/workers/src/checkout/locking-saga.ts, statement
 * for statement: lock the order row, lock the product rows in id order, check, decrement,
 * mark the order. Each call reserves for a new pending order.
 */
async function lockingReserve(db: Knex, orderId: string, items: Array<{ productId: string; quantity: number }>) {
  return withTransaction(db, async (trx) => {
    const locked = (await trx("orders").where({ order_id: orderId }).forUpdate().first("stock_locked")) as
      { stock_locked: number } | undefined;
    if (locked?.stock_locked) return null;
    const ids = items.map((i) => i.productId).sort();
    const rows = (await trx("product_details")
      .whereIn("product_id", ids)
      .orderBy("product_id")
      .forUpdate()
      .select("product_id", "quantity")) as Array<{ product_id: string; quantity: number }>;
    const stock = new Map(rows.map((r) => [r.product_id, r.quantity]));
    for (const item of items) {
      const available = stock.get(item.productId) ?? 0;
      if (available < item.quantity) return { productId: item.productId, available };
    }
    for (const item of items)
      await trx("product_details").where({ product_id: item.productId }).decrement("quantity", item.quantity);
    await trx("orders").where({ order_id: orderId }).update({ stock_locked: 1 });
    return null;
  });
}

export async function mysqlCeiling(
  opts: BenchOptions,
  lines: number,
  mysqlPid: number | null,
  progress: Progress,
): Promise<CeilingResult> {
  const c = opts.ceilings;
  if (!c) throw new Error("ceilings are off");
  const world = await World.create();
  const db = createDb(world.databaseUrl, c.mysqlConnections);
  try {
    const products = HOT.slice(0, lines);
    await world.seedProducts(products.map((id) => ({ id, quantity: AMPLE_STOCK })));
    // Pending orders to reserve for: more than the run can use.
    const orders = opts.form === "quick" ? 5_000 : 60_000;
    const ids = Array.from({ length: orders }, () => randomUUID());
    for (let i = 0; i < ids.length; i += 5_000)
      await world
        .db("orders")
        .insert(
          ids
            .slice(i, i + 5_000)
            .map((order_id) => ({ order_id, client_id: "ceiling", state: "pending", total_cents: 0 })),
        );
    // Open the pool's connections before the clock starts.
    await Promise.all(Array.from({ length: c.mysqlConnections }, () => db.raw("SELECT 1")));
    const items = products.map((productId) => ({ productId, quantity: 1 }));
    let next = 0;
    const l = await loop(
      `ceiling mysql lock x${lines}`,
      c.mysqlConnections,
      c.seconds,
      mysqlPid ? { name: "mariadbd", pid: mysqlPid } : null,
      progress,
      async () => {
        const orderId = ids[next++];
        if (!orderId) return false;
        const short = await lockingReserve(db, orderId, items);
        if (short) throw new Error(`short of ${short.productId}`);
        return true;
      },
    );
    const res = result(
      `mysql-locking-reserve-${lines}`,
      `locking-saga.ts reservation transaction (SELECT ... FOR UPDATE, UPDATE) of ${lines} hot product${lines > 1 ? "s" : ""}, ${c.mysqlConnections} connections`,
      lines,
      c.mysqlConnections,
      c.mysqlConnections,
      l,
    );
    progress.finish(
      `${res.opsPerSecond} transactions/s, p99 ${res.latencyMs.p99} ms, mariadbd CPU ${res.serverCpuPercent}%`,
    );
    return res;
  } finally {
    await db.destroy();
    await world.destroy();
  }
}
