/**
 * The whole system on a real Redis Cluster (three primaries, a replica each, on loopback
 * ports of its own): the API and workers connect with REDIS_CLUSTER_NODES, queues,
 * clients and three stock shards spread over the primaries, and a flash sale keeps its
 * promises, including when the primary holding the hot product's shard is killed
 * mid-sale and its replica takes over.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import calculateSlot from "cluster-key-slot";
import { Cluster } from "ioredis";
import type { RedisClient } from "@oms/shared";
import { createTestEnvOn, type TestEnv } from "./support/env";
import { startLocalCluster, type LocalCluster } from "./support/redis-topology";
import { startApi, startInProcessWorkers, type InProcessWorkers, type RunningApi } from "./support/system";
import { assertConservation } from "./support/invariants";
import {
  SALE_SETTINGS,
  expectConservedWithin,
  expectSaleKeptItsWord,
  flashSale,
  saleProducts,
} from "./support/flash-sale";

let cluster: LocalCluster;
let env: TestEnv<RedisClient>;
let workers: InProcessWorkers;
let api: RunningApi;

beforeAll(async () => {
  cluster = await startLocalCluster();
  env = await createTestEnvOn({
    REDIS_CLUSTER_NODES: cluster.seeds,
    INVENTORY_SHARDS: "3",
    ...SALE_SETTINGS,
  });
  workers = await startInProcessWorkers(env);
  api = await startApi(env);
}, 120_000);

afterAll(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
  await cluster?.stop();
});

/** The port of the primary serving a key's slot, as the client sees the cluster now. */
function primaryOf(key: string): number {
  if (!(env.redis instanceof Cluster)) throw new Error("not a cluster");
  const [primary] = env.redis.slots[calculateSlot(key)] ?? [];
  return Number(primary?.split(":").pop());
}

describe("on a Redis Cluster", () => {
  test("the keys really spread: queues, clients and stock shards are served by different primaries", async () => {
    const keys = [
      ...(["cart", "checkout", "inventory"] as const).map((q) => `${env.keys.queuePrefix(q)}:x`),
      ...env.keys.shards.map((n) => env.keys.held(n)),
      ...Array.from({ length: 30 }, (_, i) => env.keys.checkoutLock(`client-${i}`)),
    ];
    expect(new Set(keys.map(primaryOf)).size).toBe(3);
  });

  test("a reservation is on its shard's replica before the engine answers (WAIT on the shard's node)", async () => {
    const replicas = new Cluster(
      cluster.seeds.split(",").map((hp) => ({ host: "127.0.0.1", port: Number(hp.split(":")[1]) })),
      { scaleReads: "slave" },
    );
    try {
      await env.redis.set(env.keys.stock("cl-wait"), 3);
      const orderId = `cl-wait-${Date.now()}`;
      const reserved = await workers.deps.engine.reserve(orderId, [{ productId: "cl-wait", quantity: 1 }], 60_000);
      expect(reserved).toEqual({ ok: true, replayed: false });
      const shard = env.keys.shardOf("cl-wait");
      expect(await replicas.hget(env.keys.hold(orderId, shard), "state")).toBe("held");
      expect(await replicas.get(env.keys.stock("cl-wait"))).toBe("2");
      await workers.deps.engine.release(orderId);
    } finally {
      replicas.disconnect();
    }
  });

  test("a flash sale of many concurrent clients: no oversell, every told order kept, stock conserved", async () => {
    const stock = await saleProducts(env, "cl-sale", 4, 15);
    const told = await flashSale(api.url, { products: [...stock.keys()], clients: 100 });
    // Every unit sold, and every other client turned away at the cart or at checkout.
    expect(told.filter((t) => t.status === 200).length).toBe(60);
    expect(told.filter((t) => ![0, 200, 409].includes(t.status))).toEqual([]);
    await expectSaleKeptItsWord(env, told, stock);
    await assertConservation(env, stock);
  });

  test("carts across shards: all or nothing under contention, no oversell, stock conserved", async () => {
    const stock = await saleProducts(env, "cl-basket", 6, 10);
    expect(new Set([...stock.keys()].map((id) => env.keys.shardOf(id))).size).toBeGreaterThan(1);
    const told = await flashSale(api.url, { products: [...stock.keys()], clients: 60, perCart: 3 });
    expect(told.filter((t) => t.status === 200).length).toBeGreaterThan(0);
    await expectSaleKeptItsWord(env, told, stock);
    // Each completed order holds all three of its lines: no cart was half sold.
    const lineCounts = (await env
      .db("order_items as i")
      .join("orders as o", "o.order_id", "i.order_id")
      .where("o.state", "completed")
      .whereIn("i.product_id", [...stock.keys()])
      .groupBy("i.order_id")
      .count({ n: "*" })) as Array<{ n: number | string }>;
    expect(lineCounts.every((r) => Number(r.n) === 3)).toBe(true);
    await assertConservation(env, stock);
  });

  test("a primary restarted empty mid-sale: its shards rebuild from MySQL, every told order ends, stock conserved", async () => {
    const stock = await saleProducts(env, "cl-empty", 2, 30);
    const victim = primaryOf(env.keys.stock("cl-empty-0"));
    const told = await flashSale(api.url, {
      products: [...stock.keys()],
      clients: 80,
      midSale: { after: 20, run: () => cluster.restartEmpty(victim) },
    });
    await expectSaleKeptItsWord(env, told, stock);
    await expectConservedWithin(env, stock);
  });

  test("a primary killed mid-sale: its replica takes over, no acknowledged order is lost, nothing oversold", async () => {
    const stock = await saleProducts(env, "cl-failover", 2, 30);
    const victim = primaryOf(env.keys.stock("cl-failover-0"));
    const told = await flashSale(api.url, {
      products: [...stock.keys()],
      clients: 90,
      midSale: { after: 20, run: () => cluster.failOver(victim) },
    });
    expect(await cluster.primaries()).not.toContain(victim);
    await expectSaleKeptItsWord(env, told, stock);
    // A replica may miss the last writes before the kill; the reconciler (every second
    // here) and the sweep of holds whose order ended close the gap.
    await expectConservedWithin(env, stock);
  });
});
