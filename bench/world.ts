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
  priceCents?: number;
}

export interface Cart {
  clientId: string;
  lines: Array<{ productId: string; quantity: number }>;
}

/** Worlds not yet destroyed, so an interrupted run can still clean up. */
const live = new Set<World>();

export class World {
  readonly keys: Keyspace;
  readonly databaseUrl: string;
  readonly databaseName: string;

  private constructor(
    readonly id: string,
    readonly db: Knex,
    readonly redis: Redis,
  ) {
    this.keys = keyspace(id);
    this.databaseName = `oms_${id}`;
    this.databaseUrl = `${MYSQL_URL}/${this.databaseName}`;
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
    for (let i = 0; i < products.length; i += 1000) {
      await this.db("product_details").insert(
        products.slice(i, i + 1000).map((p) => ({
          product_id: p.id,
          product_name: p.id,
          quantity: p.quantity,
          price_cents: p.priceCents ?? 100,
        })),
      );
    }
  }

  /**
   * Carts written directly: the rows of client_cart in MySQL and the API's copy in Redis
   * (the hash the cart worker writes on add-to-cart), so the sold-out fast path sees them.
   */
  async seedCarts(carts: Cart[]): Promise<void> {
    const rows = carts.flatMap((c) =>
      c.lines.map((l) => ({ client_id: c.clientId, product_id: l.productId, quantity: l.quantity })),
    );
    for (let i = 0; i < rows.length; i += 2000) await this.db("client_cart").insert(rows.slice(i, i + 2000));
    for (let i = 0; i < carts.length; i += 1000) {
      const pipeline = this.redis.pipeline();
      for (const cart of carts.slice(i, i + 1000)) {
        const key = this.keys.cartMirror(cart.clientId);
        pipeline.hset(key, Object.fromEntries(cart.lines.map((l) => [l.productId, l.quantity])));
        pipeline.expire(key, 86_400);
      }
      await pipeline.exec();
    }
  }

  /** Keys under this world's prefix. */
  async countKeys(): Promise<number> {
    let n = 0;
    const stream = this.redis.scanStream({ match: this.keys.allKeysPattern, count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) n += batch.length;
    return n;
  }

  /** Keys under this world's prefix by kind (hold records, each queue's job hashes, ...). */
  async keyKinds(): Promise<Record<string, number>> {
    const kinds: Record<string, number> = {};
    const stream = this.redis.scanStream({ match: this.keys.allKeysPattern, count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      for (const key of batch) {
        // The kind follows the hash tag: `{tag}:<kind>:...`.
        const [name = "", second = ""] = key.slice(key.indexOf("}") + 2).split(":");
        let kind = name;
        if (["cart", "checkout", "inventory"].includes(name))
          kind = /^[0-9a-f-]{20,}$|^\d+$|^flush-/.test(second) ? `${name} job hashes` : `${name}:${second}`;
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
    }
    return Object.fromEntries(Object.entries(kinds).sort((a, b) => b[1] - a[1]));
  }

  /** Bytes of data and indexes of this world's database. */
  async databaseBytes(): Promise<number> {
    const [rows] = (await this.db.raw(
      "SELECT COALESCE(SUM(data_length + index_length), 0) AS bytes FROM information_schema.tables WHERE table_schema = ?",
      [`oms_${this.id}`],
    )) as [Array<{ bytes: number | string }>];
    return Number(rows[0]?.bytes ?? 0);
  }

  async destroy(): Promise<void> {
    live.delete(this);
    const stream = this.redis.scanStream({ match: this.keys.allKeysPattern, count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      if (batch.length) await this.redis.unlink(...batch);
    }
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
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
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

export function statusDelta(a: MysqlStatusDelta, b: MysqlStatusDelta): MysqlStatusDelta {
  return {
    rowLockWaits: b.rowLockWaits - a.rowLockWaits,
    rowLockTimeMs: b.rowLockTimeMs - a.rowLockTimeMs,
    commits: b.commits - a.commits,
    questions: b.questions - a.questions,
  };
}

/** A Redis connection of the bench's own, for Lua ceilings and INFO. */
export function benchRedis(name: string): Redis {
  return createRedis(REDIS_URL, { name });
}
