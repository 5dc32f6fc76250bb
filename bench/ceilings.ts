/**
 * Each design's ceiling at its bottleneck alone, without HTTP, queues or workers:
 * - the reserve Lua script against Redis (InventoryEngine.reserve, many concurrent
 *   callers over a few connections);
 * - the classic reservation transaction against MySQL (reserveWithRowLocks of
 *   locking-saga.ts, many concurrent connections).
 */
import { randomUUID } from "node:crypto";
import { createDb, createRedis, loadWorkerConfig } from "@oms/shared";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import { reserveWithRowLocks } from "@oms/workers";
import type { BenchOptions } from "./options";
import { usageOf } from "./proc";
import type { Progress } from "./progress";
import { AMPLE_STOCK } from "./scenarios";
import { round, summarize } from "./stats";
import { runLoad } from "./load";
import type { CeilingResult } from "./types";
import { REDIS_URL, World, waitReady } from "./world";

type Ceilings = NonNullable<BenchOptions["ceilings"]>;

interface Bench {
  name: string;
  description: string;
  lines: number;
  concurrency: number;
  connections: number;
  serverPid: number | null;
  /** One operation: 200 done, 500 failed; null when there is nothing left to do. */
  op: () => Promise<200 | 500> | null;
}

/** Runs `op` from `concurrency` callers for `seconds` (or until there is nothing left to do). */
async function measure(b: Bench, seconds: number, progress: Progress): Promise<CeilingResult> {
  const serverCpu = async () => (b.serverPid ? (await usageOf([b.serverPid]))[b.serverPid]?.ctime : undefined);
  const server0 = await serverCpu();
  const self0 = process.cpuUsage();
  const outcome = await runLoad({
    label: b.name,
    targets: [],
    concurrency: b.concurrency,
    durationMs: seconds * 1000,
    progress,
    task: async (_i, _send, time) => {
      const op = b.op();
      return op !== null && (await time(() => op)) > 0;
    },
  });
  const elapsed = outcome.seconds;
  const self = process.cpuUsage(self0);
  const server1 = await serverCpu();
  const operations = outcome.statuses["200"] ?? 0;
  const result: CeilingResult = {
    name: b.name,
    description: b.description,
    lines: b.lines,
    concurrency: b.concurrency,
    connections: b.connections,
    operations,
    seconds: round(elapsed, 2),
    opsPerSecond: round(operations / elapsed),
    latencyMs: summarize(outcome.latency, 2),
    serverCpuPercent: server0 !== undefined && server1 !== undefined ? round((server1 - server0) / 10 / elapsed) : 0,
    clientCpuPercent: round((self.user + self.system) / 1e4 / elapsed),
    failures: outcome.count - operations,
  };
  const { opsPerSecond, latencyMs, serverCpuPercent } = result;
  progress.finish(`${opsPerSecond} ops/s, p99 ${latencyMs.p99} ms, server CPU ${serverCpuPercent}%`);
  return result;
}

const HOT = ["hot-a", "hot-b", "hot-c"];
const plural = (lines: number) => `${lines} hot product${lines > 1 ? "s" : ""}`;

/** InventoryEngine.reserve of `lines` hot products, each call a new order id. */
export async function luaCeiling(c: Ceilings, lines: number, redisPid: number | null, progress: Progress) {
  const world = await World.create();
  const connections = Array.from({ length: c.redisConnections }, (_, i) =>
    createRedis(REDIS_URL, { name: `bench-lua-${i}` }),
  );
  try {
    const products = HOT.slice(0, lines);
    await world.seedProducts(products.map((id) => ({ id, quantity: AMPLE_STOCK })));
    for (const id of products) await world.redis.set(world.keys.stock(id), AMPLE_STOCK);
    await Promise.all(connections.map(waitReady));
    const engines = connections.map((r) => new InventoryEngine(r, world.keys, mysqlTruth(world.db)));
    const stockLines = products.map((productId) => ({ productId, quantity: 1 }));
    let n = 0;
    return await measure(
      {
        name: `redis-lua-reserve-${lines}`,
        description: `InventoryEngine.reserve (one Lua call) of ${plural(lines)}, ${c.concurrency} callers over ${c.redisConnections} connections`,
        lines,
        concurrency: c.concurrency,
        connections: c.redisConnections,
        serverPid: redisPid,
        op: () => {
          const engine = engines[n++ % engines.length];
          return engine
            ? engine.reserve(randomUUID(), stockLines, 600_000).then(
                (r) => (r.ok ? 200 : 500),
                () => 500,
              )
            : null;
        },
      },
      c.seconds,
      progress,
    );
  } finally {
    for (const r of connections) r.disconnect();
    await world.destroy();
  }
}

/** The classic reservation transaction of `lines` hot products, each for a new pending order. */
export async function mysqlCeiling(
  c: Ceilings,
  lines: number,
  mysqlPid: number | null,
  quick: boolean,
  progress: Progress,
) {
  const world = await World.create();
  const db = createDb(world.databaseUrl, c.mysqlConnections);
  try {
    const products = HOT.slice(0, lines);
    await world.seedProducts(products.map((id) => ({ id, quantity: AMPLE_STOCK })));
    // Pending orders to reserve for: more than the run can use.
    const ids = Array.from({ length: quick ? 5_000 : 60_000 }, () => randomUUID());
    for (let i = 0; i < ids.length; i += 5_000) {
      const rows = ids.slice(i, i + 5_000).map((order_id) => ({ order_id, client_id: "ceiling", state: "pending" }));
      await world.db("orders").insert(rows.map((r) => ({ ...r, total_cents: 0 })));
    }
    // Open the pool's connections before the clock starts.
    await Promise.all(Array.from({ length: c.mysqlConnections }, () => db.raw("SELECT 1")));
    const items = products.map((productId) => ({ productId, quantity: 1 }));
    const lowStock = loadWorkerConfig(world.env()).STOCK_LOW_THRESHOLD;
    let next = 0;
    return await measure(
      {
        name: `mysql-locking-reserve-${lines}`,
        description: `locking-saga.ts reservation transaction (SELECT ... FOR UPDATE, UPDATE) of ${plural(lines)}, ${c.mysqlConnections} connections`,
        lines,
        concurrency: c.mysqlConnections,
        connections: c.mysqlConnections,
        serverPid: mysqlPid,
        op: () => {
          const orderId = ids[next++];
          if (!orderId) return null;
          return reserveWithRowLocks(db, orderId, items, lowStock).then(
            (short) => (short ? 500 : 200),
            () => 500,
          );
        },
      },
      c.seconds,
      progress,
    );
  } finally {
    await db.destroy();
    await world.destroy();
  }
}
