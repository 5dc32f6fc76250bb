/**
 * One isolated world per scenario run: its own MariaDB database and its own Redis key
 * prefix (hash tag), seeded directly, and removed afterwards. The shared servers are
 * never flushed.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { createDb, createRedis, keyspace, type Keyspace, type Knex } from "@oms/shared";
import { prepareDatabase } from "@oms/migrations";
import type { MysqlStatusDelta } from "./types";

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
export const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";

export interface Product {
  id: string;
  quantity: number;
}

export interface Cart {
  clientId: string;
  lines: Array<{ productId: string; quantity: number }>;
}

/** Worlds not yet destroyed, so an interrupted run can still clean up. */
const live = new Set<World>();

/** Inserts rows in chunks of `size`. */
async function insert<T>(rows: T[], size: number, write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await write(rows.slice(i, i + size));
}

export class World {
  readonly keys: Keyspace;
  readonly databaseUrl: string;

  private constructor(
    readonly id: string,
    readonly db: Knex,
    readonly redis: Redis,
  ) {
    this.keys = keyspace(id);
    this.databaseUrl = `${MYSQL_URL}/oms_${id}`;
  }

  static async create(): Promise<World> {
    const id = `bench${randomBytes(4).toString("hex")}`;
    const url = `${MYSQL_URL}/oms_${id}`;
    await prepareDatabase(url);
    const world = new World(id, createDb(url, 8), createRedis(REDIS_URL, { name: `bench-${id}` }));
    live.add(world);
    await waitReady(world.redis);
    return world;
  }

  static async destroyAll(): Promise<void> {
    await Promise.all([...live].map((w) => w.destroy().catch(() => undefined)));
  }

  /** The environment every process of this world gets. */
  env(): Record<string, string> {
    return { REDIS_URL, REDIS_PREFIX: this.id, DATABASE_URL: this.databaseUrl };
  }

  async seedProducts(products: Product[]): Promise<void> {
    const rows = products.map((p) => ({
      product_id: p.id,
      product_name: p.id,
      quantity: p.quantity,
      price_cents: 100,
    }));
    await insert(rows, 1000, (chunk) => this.db("product_details").insert(chunk));
  }

  /**
   * Carts written directly: the rows of client_cart in MySQL and the API's copy in Redis
   * (the hash the cart worker writes on add-to-cart), so the sold-out fast path sees them.
   */
  async seedCarts(carts: Cart[]): Promise<void> {
    const rows = carts.flatMap((c) =>
      c.lines.map((l) => ({ client_id: c.clientId, product_id: l.productId, quantity: l.quantity })),
    );
    await insert(rows, 2000, (chunk) => this.db("client_cart").insert(chunk));
    await insert(carts, 1000, (chunk) => {
      const pipeline = this.redis.pipeline();
      for (const cart of chunk) {
        const key = this.keys.cartMirror(cart.clientId);
        pipeline.hset(key, Object.fromEntries(cart.lines.map((l) => [l.productId, l.quantity])));
        pipeline.expire(key, 86_400);
      }
      return pipeline.exec();
    });
  }

  /** Keys under this world's prefix. */
  async prefixKeys(): Promise<string[]> {
    const keys: string[] = [];
    const stream = this.redis.scanStream({ match: this.keys.allKeysPattern, count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) keys.push(...batch);
    return keys;
  }

  async destroy(): Promise<void> {
    live.delete(this);
    await insert(await this.prefixKeys(), 1000, (chunk) => this.redis.unlink(...chunk));
    await this.db.raw(`DROP DATABASE IF EXISTS \`oms_${this.id}\``);
    await this.db.destroy();
    this.redis.disconnect();
  }
}

export async function waitReady(redis: Redis): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    redis.once("ready", () => resolve());
    setTimeout(() => reject(new Error("redis not ready in 10s")), 10_000).unref();
  });
}

export async function redisUsedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
}

/** Global status counters of MariaDB (the server is shared, so these include other clients). */
export async function mysqlStatus(db: Knex): Promise<MysqlStatusDelta> {
  const [rows] = (await db.raw(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits','Innodb_row_lock_time','Com_commit','Questions')",
  )) as [Array<{ Variable_name: string; Value: string }>];
  const v = new Map(rows.map((r) => [r.Variable_name, Number(r.Value)]));
  return {
    rowLockWaits: v.get("Innodb_row_lock_waits") ?? 0,
    rowLockTimeMs: v.get("Innodb_row_lock_time") ?? 0,
    commits: v.get("Com_commit") ?? 0,
    questions: v.get("Questions") ?? 0,
  };
}
