/**
 * Each design's ceiling at its bottleneck alone, without HTTP, queues or workers: the reserve
 * Lua script against Redis (many callers over a few connections), the classic reservation
 * transaction against MySQL (many connections).
 */
import { randomUUID } from "node:crypto";
import { createDb, createRedis, redisTarget } from "@oms/shared";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import { reserveWithRowLocks } from "@oms/workers";
import { waitReady } from "../test/support/env";
import { runLoad, type Progress } from "./load";
import type { BenchOptions } from "./options";
import type { Bench } from "./system";
import { usageOf } from "./phase";
import { AMPLE_STOCK, ampleCatalog } from "./scenarios";
import { round, summarize } from "./stats";
import type { BenchResult } from "./types";
import { createWorld, destroyWorld, insert, seedProducts, type World } from "./world";

type Limits = NonNullable<BenchOptions["ceilings"]>;
/** `op`: one operation, true when it succeeded; null when there is nothing left to do. */
type CeilingResult = BenchResult["ceilings"][number];
type Setup = Pick<CeilingResult, "name" | "description" | "concurrency" | "connections"> & {
  serverPid: number | null;
  op: () => Promise<boolean> | null;
  close(): Promise<void>;
};
/** `items`: one unit of each hot product, what every operation reserves. */
type Prepare = (world: World, items: Array<{ productId: string; quantity: number }>) => Promise<Setup>;

const plural = (lines: number) => `${lines} hot product${lines > 1 ? "s" : ""}`;

/** Runs `op` from `concurrency` callers for `seconds` (or until there is nothing left to do), in a world of `lines` hot products. */
async function ceiling(lines: number, seconds: number, progress: Progress, prepare: Prepare) {
  const world = await createWorld();
  let setup: Setup | undefined;
  try {
    const products = ampleCatalog("hot-", lines);
    await seedProducts(world, products);
    setup = await prepare(
      world,
      products.map((p) => ({ productId: p.id, quantity: 1 })),
    );
    const { op, serverPid, close: _, ...described } = setup;
    const serverCpu = async () => (serverPid ? (await usageOf([serverPid]))[serverPid]?.ctime : undefined);
    const [server0, self0] = [await serverCpu(), process.cpuUsage()];
    const outcome = await runLoad({
      ...{ label: setup.name, targets: [], concurrency: setup.concurrency, durationMs: seconds * 1000, progress },
      task: async (_i, _send, time) => {
        const next = op();
        return next !== null && (await time(() => next.then((ok) => (ok ? 200 : 500)).catch(() => 500))) > 0;
      },
    });
    const [elapsed, self, server1] = [outcome.seconds, process.cpuUsage(self0), await serverCpu()];
    const operations = outcome.statuses["200"] ?? 0;
    const serverCpuPercent =
      server0 !== undefined && server1 !== undefined ? round((server1 - server0) / 10 / elapsed) : 0;
    const result: CeilingResult = {
      ...{ ...described, lines, operations, seconds: round(elapsed, 2), opsPerSecond: round(operations / elapsed) },
      ...{ latencyMs: summarize(outcome.latency, 2), serverCpuPercent, failures: outcome.count - operations },
      clientCpuPercent: round((self.user + self.system) / 1e4 / elapsed),
    };
    progress.finish(`${result.opsPerSecond} ops/s, p99 ${result.latencyMs.p99} ms, server CPU ${serverCpuPercent}%`);
    return result;
  } finally {
    await Promise.resolve(setup?.close()).finally(() => destroyWorld(world));
  }
}

/** InventoryEngine.reserve of `lines` hot products, each call a new order id. */
export const luaCeiling = ({ progress }: Bench, c: Limits, lines: number) =>
  ceiling(lines, c.seconds, progress, async (world, items) => {
    const connections = Array.from({ length: c.redisConnections }, (_, i) =>
      createRedis(redisTarget(world.config), { name: `bench-lua-${i}` }),
    );
    for (const { productId } of items) await world.redis.set(world.keys.stock(productId), AMPLE_STOCK);
    await Promise.all(connections.map(waitReady));
    const engines = connections.map((r) => new InventoryEngine(r, world.keys, mysqlTruth(world.db)));
    let n = 0;
    return {
      name: `redis-lua-reserve-${lines}`,
      description: `InventoryEngine.reserve (one Lua call) of ${plural(lines)}, ${c.concurrency} callers over ${c.redisConnections} connections`,
      ...{ concurrency: c.concurrency, connections: c.redisConnections },
      serverPid: world.servers.nodes[0]?.pid ?? null,
      op: () => engines[n++ % engines.length]?.reserve(randomUUID(), items, 600_000).then((r) => r.ok) ?? null,
      close: async () => connections.forEach((r) => r.disconnect()),
    };
  });

/** The classic reservation transaction of `lines` hot products, each for a new pending order. */
export const mysqlCeiling = ({ progress, mysqlPid, opts }: Bench, c: Limits, lines: number) =>
  ceiling(lines, c.seconds, progress, async (world, items) => {
    const db = createDb(world.config.DATABASE_URL, c.mysqlConnections);
    // Pending orders to reserve for: more than the run can use.
    const ids = Array.from({ length: opts.form === "quick" ? 5_000 : 60_000 }, () => randomUUID());
    const rows = ids.map((order_id) => ({ order_id, client_id: "ceiling", state: "pending", total_cents: 0 }));
    await insert(rows, 5_000, (chunk) => world.db("orders").insert(chunk));
    // Open the pool's connections before the clock starts.
    await Promise.all(Array.from({ length: c.mysqlConnections }, () => db.raw("SELECT 1")));
    let next = 0;
    return {
      name: `mysql-locking-reserve-${lines}`,
      description: `locking-saga.ts reservation transaction (SELECT ... FOR UPDATE, UPDATE) of ${plural(lines)}, ${c.mysqlConnections} connections`,
      ...{ concurrency: c.mysqlConnections, connections: c.mysqlConnections, serverPid: mysqlPid },
      op: () => {
        const orderId = ids[next++];
        return orderId
          ? reserveWithRowLocks(db, orderId, items, world.config.STOCK_LOW_THRESHOLD).then((short) => !short)
          : null;
      },
      close: () => db.destroy(),
    };
  });
