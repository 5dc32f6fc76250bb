/**
 * One isolated world per scenario run: the test suite's env (own database and key prefix) on
 * redis-servers of its own, so their counters and CPU are the benchmark's alone (the shared
 * 6379's include other clients). Seeded directly, removed afterwards with its servers.
 */
import { z } from "zod";
import { createRedis, rawRows, type Knex, type RedisClient } from "@oms/shared";
import type { OwnRedis } from "../test/chaos/infra";
import { createTestEnvOn, insertProducts, scanAll, type TestEnv } from "../test/support/env";
import { startLocalCluster, startLocalServer } from "../test/support/redis-topology";

export type Product = { id: string; quantity: number };
export type Cart = { clientId: string; lines: Array<{ productId: string; quantity: number }> };
type Role = "standalone" | "primary" | "replica";

export interface World extends Omit<TestEnv<RedisClient>, "close"> {
  servers: RedisServers;
  /** The environment every process of this world gets. */
  processEnv: Record<string, string>;
}

/** Stock shards on the Cluster: one per primary. */
const CLUSTER_SHARDS = 3;
/** Far above any stall a loaded 2-core machine causes, so no replica takes over mid-run. */
const CLUSTER_NODE_TIMEOUT_MS = 15_000;
/** The number after `prefix` at the start of an INFO line (0 when absent). */
const infoField = (info: string, prefix: string) => Number(new RegExp(`^${prefix}(\\d+)`, "m").exec(info)?.[1] ?? 0);

/** Commands a node processed, its INFO calls for the benchmark left out. */
const commandsOf = (info: string) =>
  infoField(info, "total_commands_processed:") - infoField(info, "cmdstat_info:calls=");

/** The servers (REDIS_URL, and `more`: on a Cluster, REDIS_CLUSTER_NODES and INVENTORY_SHARDS), each read over a connection of its own. */
function redisServers(t: { servers: OwnRedis[]; stop(): Promise<void> }, role: (s: OwnRedis) => Role, more = {}) {
  const env: Record<string, string> = { REDIS_URL: t.servers[0]?.url ?? "", ...more };
  const nodes = t.servers.map((s) => ({ name: `redis:${s.port}`, port: s.port, pid: s.pid ?? 0, role: role(s) }));
  const connections = nodes.map((x) => createRedis(`redis://127.0.0.1:${x.port}`, { name: "bench-info" }));
  const infos = (...sections: string[]) => Promise.all(connections.map((r) => r.info(...sections)));
  return {
    env,
    nodes,
    commands: async () => (await infos("stats", "commandstats")).map(commandsOf),
    usedMemory: async () => (await infos("memory")).reduce((sum, info) => sum + infoField(info, "used_memory:"), 0),
    close: async () => {
      for (const r of connections) r.disconnect();
      await t.stop();
    },
  };
}
export type RedisServers = ReturnType<typeof redisServers>;

async function startServers(cluster: boolean): Promise<RedisServers> {
  if (!cluster) return redisServers(await startLocalServer(), () => "standalone");
  const c = await startLocalCluster(CLUSTER_NODE_TIMEOUT_MS);
  const primaries = await c.primaries();
  const role = (s: OwnRedis) => (primaries.includes(s.port) ? "primary" : "replica");
  return redisServers(c, role, { REDIS_CLUSTER_NODES: c.seeds, INVENTORY_SHARDS: String(CLUSTER_SHARDS) });
}

/** Worlds not yet destroyed, so an interrupted run can still clean up. */
const live = new Set<World>();

export async function createWorld(cluster = false): Promise<World> {
  const servers = await startServers(cluster);
  try {
    const { close: _dropsKeysOneByOne, ...env } = await createTestEnvOn(servers.env);
    const processEnv = { ...servers.env, REDIS_PREFIX: env.id, DATABASE_URL: env.config.DATABASE_URL };
    const world = { ...env, servers, processEnv };
    live.add(world);
    return world;
  } catch (err) {
    await servers.close();
    throw err;
  }
}

/** Drops the database and stops the servers (their keys go with them). */
export async function destroyWorld(world: World): Promise<void> {
  live.delete(world);
  await world.db.raw(`DROP DATABASE IF EXISTS \`oms_${world.id}\``);
  await world.db.destroy();
  world.redis.disconnect();
  await world.servers.close();
}

export const destroyAllWorlds = () => Promise.all([...live].map((w) => destroyWorld(w).catch(() => undefined)));

export async function insert<T>(rows: T[], size: number, write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await write(rows.slice(i, i + size));
}

export const seedProducts = (world: World, products: Product[]) =>
  insert(products, 1000, (c) => insertProducts(world.db, c));

/**
 * Carts written directly: the rows of client_cart in MySQL and the API's copy in Redis
 * (the hash the cart worker writes on add-to-cart), so the sold-out fast path sees them.
 * One command per key, sent together: on a Cluster the carts sit in many slots.
 */
export async function seedCarts(world: World, carts: Cart[]): Promise<void> {
  const rows = carts.flatMap((c) =>
    c.lines.map((l) => ({ client_id: c.clientId, product_id: l.productId, quantity: l.quantity })),
  );
  await insert(rows, 2000, (chunk) => world.db("client_cart").insert(chunk));
  const mirror = async ({ clientId, lines }: Cart) => {
    const key = world.keys.cartMirror(clientId);
    await world.redis.hset(key, Object.fromEntries(lines.map((l) => [l.productId, l.quantity])));
    await world.redis.expire(key, 86_400);
  };
  await insert(carts, 1000, (chunk) => Promise.all(chunk.map(mirror)));
}

/** Keys under this world's prefix, on every node. */
export const prefixKeyCount = async (world: World) => (await scanAll(world.redis, world.keys.allKeysPattern)).length;

const CountRow = z.object({ n: z.coerce.number() }).optional();
/** The rows a query matches. */
export const countRows = async (query: Knex.QueryBuilder) =>
  CountRow.parse(await query.count({ n: "*" }).first())?.n ?? 0;

/** Global status counters of MariaDB (the server is shared, so these include other clients). */
export async function mysqlStatus(db: Knex) {
  const sql = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_commit','Questions')";
  const rows = rawRows(z.object({ Variable_name: z.string(), Value: z.coerce.number() }), await db.raw(sql));
  const v = new Map(rows.map((r) => [r.Variable_name, r.Value]));
  return { commits: v.get("Com_commit") ?? 0, questions: v.get("Questions") ?? 0 };
}
