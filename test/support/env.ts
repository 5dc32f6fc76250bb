import { randomBytes } from "node:crypto";
import { Cluster, type Redis } from "ioredis";
import { inject } from "vitest";
import {
  createDb,
  createRedis,
  redisTarget,
  ensureDatabase,
  keyspace,
  type Keyspace,
  type Knex,
  type RedisClient,
} from "@oms/shared";
import { migrateLatest } from "@oms/migrations";
import type { RunRedisSettings } from "./cluster-run";
import { loadSystemConfig, type SystemConfig } from "./config";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";

/**
 * `R` is whatever the run's Redis is: a standalone connection, or a Cluster in the
 * cluster project (vitest.config.ts). A file that needs one server's commands (KEYS,
 * MONITOR, FLUSHALL, a scan stream) asks for `TestEnv<Redis>` by name.
 */
export interface TestEnv<R extends RedisClient = RedisClient> {
  /** Unique per test file: own Redis key prefix (hash tags) and own database. */
  id: string;
  config: SystemConfig;
  keys: Keyspace;
  db: Knex;
  redis: R;
  close(): Promise<void>;
}

/**
 * An isolated world: its own database (migrated) and its own Redis prefix, on the run's
 * Redis: the shared standalone server, or the cluster project's Redis Cluster (with
 * three stock shards, so carts cross shards and keys spread over the primaries). The
 * overrides win over both.
 */
export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  return createTestEnvOn({ ...runRedisSettings(), ...overrides });
}

/**
 * The same world on the one standalone server whatever the run: for files that need
 * commands of a single server. Such a file is listed as standalone-only in
 * vitest.config.ts, and calling this in the cluster project says so.
 */
export async function createStandaloneTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv<Redis>> {
  if (runRedisSettings().REDIS_CLUSTER_NODES)
    throw new Error("this file needs a standalone Redis: list it as standalone-only in vitest.config.ts");
  const { id, config } = testConfig(overrides);
  if (redisTarget(config).mode !== "standalone")
    throw new Error("createStandaloneTestEnv: the overrides name a Cluster or Sentinel set; use createTestEnvOn");
  return openTestEnv(id, config, createRedis(config.REDIS_URL, { name: `test-${id}` }));
}

/** The same world on whatever Redis the overrides name (REDIS_CLUSTER_NODES, REDIS_SENTINELS). */
export async function createTestEnvOn(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const { id, config } = testConfig(overrides);
  return openTestEnv(id, config, createRedis(redisTarget(config), { name: `test-${id}` }));
}

/** The settings that point a file at the run's Redis (empty on the standalone server). */
function runRedisSettings(): RunRedisSettings {
  return inject("runRedisSettings") ?? {};
}

function testConfig(overrides: Record<string, string>): { id: string; config: SystemConfig } {
  const id = `t${randomBytes(5).toString("hex")}`;
  const config = loadSystemConfig({
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    REDIS_URL,
    REDIS_PREFIX: id,
    DATABASE_URL: `${MYSQL_URL}/oms_${id}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    PAYMENT_SIM_LATENCY_MS: "0",
    JOB_BACKOFF_MS: "50",
    ...overrides,
  });
  return { id, config };
}

async function openTestEnv<R extends RedisClient>(id: string, config: SystemConfig, redis: R): Promise<TestEnv<R>> {
  await ensureDatabase(config.DATABASE_URL);
  const db = createDb(config.DATABASE_URL, 10);
  await migrateLatest(db);
  await waitReady(redis);
  const keys = keyspace(config.REDIS_PREFIX, config.INVENTORY_SHARDS);
  // A fresh prefix starts with a trusted (empty) cache, as a worker's start-up recovery would leave it.
  for (const shard of keys.shards) await redis.set(keys.epoch(shard), "test");
  return {
    id,
    config,
    keys,
    db,
    redis,
    async close() {
      await removeKeysOf(redis, config.REDIS_PREFIX);
      await db.raw(`DROP DATABASE IF EXISTS \`oms_${id}\``);
      await db.destroy();
      redis.disconnect();
    },
  };
}

/**
 * Overrides that point a process at a Redis of the run's kind on a closed port: an
 * outage of the deployment the file runs on (a Cluster's seed list, or one server).
 */
export function unreachableRedis(config: SystemConfig): Partial<SystemConfig> {
  return config.REDIS_CLUSTER_NODES
    ? { REDIS_CLUSTER_NODES: [{ host: "127.0.0.1", port: 1 }] }
    : { REDIS_URL: "redis://127.0.0.1:1" };
}

/** Removes every key of a key prefix (under all its hash tags), on every primary of a Cluster too. */
export async function removeKeysOf(redis: RedisClient, prefix: string): Promise<void> {
  // One UNLINK per key: on a Cluster the keys of one batch sit in many slots.
  for (const key of await scanAll(redis, keyspace(prefix).allKeysPattern)) await redis.unlink(key);
}

/** Every key matching a pattern, on every primary of a Cluster or on the one server. */
export async function scanAll(redis: RedisClient, match: string): Promise<string[]> {
  const found = new Set<string>();
  for (const node of redis instanceof Cluster ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", match, "COUNT", 1000);
      cursor = next;
      for (const key of batch) found.add(key);
    } while (cursor !== "0");
  }
  return [...found];
}

export async function waitReady(redis: RedisClient): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    redis.once("ready", () => resolve());
    setTimeout(() => reject(new Error("redis not ready in 5s")), 5_000).unref();
  });
}

export async function insertProducts(
  db: Knex,
  products: Array<{ id: string; name?: string; quantity: number; priceCents?: number }>,
): Promise<void> {
  await db("product_details").insert(
    products.map((p) => ({
      product_id: p.id,
      product_name: p.name ?? p.id,
      quantity: p.quantity,
      price_cents: p.priceCents ?? 100,
    })),
  );
}

/** A new product of this many units (its id unique to the call), for tests that need one of their own. */
export async function newProduct(env: TestEnv, quantity: number): Promise<string> {
  const id = `p-${randomBytes(5).toString("hex")}`;
  await insertProducts(env.db, [{ id, quantity }]);
  return id;
}

/** A client's cart in MySQL, as product id -> quantity. */
export async function cartOf(env: TestEnv, clientId: string): Promise<Record<string, number>> {
  const rows = (await env.db("client_cart").where({ client_id: clientId }).select("product_id", "quantity")) as Array<{
    product_id: string;
    quantity: number;
  }>;
  return Object.fromEntries(rows.map((r) => [r.product_id, r.quantity]));
}
