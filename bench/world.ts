/**
 * One isolated world per scenario run: the test suite's env (own migrated MariaDB
 * database, own Redis key prefix) on redis-servers of its own, seeded directly, and
 * removed afterwards with its servers.
 */
import type { Knex, RedisClient } from "@oms/shared";
import { createTestEnvOn, insertProducts, scanAll, type TestEnv } from "../test/support/env";
import { RedisServers } from "./redis-servers";
import type { MysqlStatusDelta } from "./types";

export interface Product {
  id: string;
  quantity: number;
}

export interface Cart {
  clientId: string;
  lines: Array<{ productId: string; quantity: number }>;
}

export interface World extends Omit<TestEnv<RedisClient>, "close"> {
  servers: RedisServers;
  /** The environment every process of this world gets. */
  processEnv: Record<string, string>;
}

/** Worlds not yet destroyed, so an interrupted run can still clean up. */
const live = new Set<World>();

/** Inserts rows in chunks of `size`. */
async function insert<T>(rows: T[], size: number, write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await write(rows.slice(i, i + size));
}

/** A world on a standalone redis-server, or on a local Cluster. */
export async function createWorld(cluster = false): Promise<World> {
  const servers = await RedisServers.start(cluster);
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

export async function destroyAllWorlds(): Promise<void> {
  await Promise.all([...live].map((w) => destroyWorld(w).catch(() => undefined)));
}

export async function seedProducts(world: World, products: Product[]): Promise<void> {
  await insert(products, 1000, (chunk) => insertProducts(world.db, chunk));
}

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
  await insert(carts, 1000, (chunk) =>
    Promise.all(
      chunk.map(async (cart) => {
        const key = world.keys.cartMirror(cart.clientId);
        await world.redis.hset(key, Object.fromEntries(cart.lines.map((l) => [l.productId, l.quantity])));
        await world.redis.expire(key, 86_400);
      }),
    ),
  );
}

/** Keys under this world's prefix, on every node. */
export async function prefixKeyCount(world: World): Promise<number> {
  return (await scanAll(world.redis, world.keys.allKeysPattern)).length;
}

/** Global status counters of MariaDB (the server is shared, so these include other clients). */
export async function mysqlStatus(db: Knex): Promise<MysqlStatusDelta> {
  const [rows] = (await db.raw("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_commit','Questions')")) as [
    Array<{ Variable_name: string; Value: string }>,
  ];
  const v = new Map(rows.map((r) => [r.Variable_name, Number(r.Value)]));
  return { commits: v.get("Com_commit") ?? 0, questions: v.get("Questions") ?? 0 };
}
