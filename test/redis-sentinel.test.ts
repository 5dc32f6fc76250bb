/**
 * The whole system behind a real Sentinel set (a primary, its replica, three sentinels
 * on loopback ports of its own): the API and workers find the primary through
 * REDIS_SENTINELS, a flash sale keeps its promises, and when the primary is killed
 * mid-sale the sentinels promote the replica and the system carries on against it.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Redis } from "ioredis";
import type { RedisClient } from "@oms/shared";
import { createTestEnvOn, type TestEnv } from "./support/env";
import { startLocalSentinel, type LocalSentinel } from "./support/redis-topology";
import { startApi, startInProcessWorkers, type InProcessWorkers, type RunningApi } from "./support/system";
import { assertConservation } from "./support/invariants";
import {
  SALE_SETTINGS,
  expectConservedWithin,
  expectSaleKeptItsWord,
  flashSale,
  saleProducts,
} from "./support/flash-sale";

let sentinel: LocalSentinel;
let env: TestEnv<RedisClient>;
let workers: InProcessWorkers;
let api: RunningApi;

beforeAll(async () => {
  sentinel = await startLocalSentinel();
  env = await createTestEnvOn({
    REDIS_SENTINELS: sentinel.sentinels,
    REDIS_SENTINEL_NAME: sentinel.name,
    ...SALE_SETTINGS,
  });
  workers = await startInProcessWorkers(env);
  api = await startApi(env);
}, 120_000);

afterAll(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
  await sentinel?.stop();
});

describe("behind Redis Sentinel", () => {
  test("a reservation is on the replica before the engine answers (REDIS_WAIT_REPLICAS=1 sends WAIT)", async () => {
    const primary = new Redis(await sentinel.primaryPort(), "127.0.0.1");
    const replica = new Redis({ sentinels: sentinel.sentinelList, name: sentinel.name, role: "slave" });
    // How many WAITs the primary has served, from its own command statistics.
    const waits = async () => Number(/cmdstat_wait:calls=(\d+)/.exec(await primary.info("commandstats"))?.[1] ?? 0);
    try {
      await env.redis.set(env.keys.stock("sn-wait"), 3);
      const before = await waits();
      const orderId = `sn-wait-${Date.now()}`;
      const reserved = await workers.deps.engine.reserve(orderId, [{ productId: "sn-wait", quantity: 1 }], 60_000);
      expect(reserved).toEqual({ ok: true, replayed: false });
      expect(await waits()).toBeGreaterThan(before);
      expect(await replica.hget(env.keys.hold(orderId), "state")).toBe("held");
      expect(await replica.get(env.keys.stock("sn-wait"))).toBe("2");
      await workers.deps.engine.release(orderId);
    } finally {
      primary.disconnect();
      replica.disconnect();
    }
  });

  test("a flash sale of many concurrent clients: no oversell, every told order kept, stock conserved", async () => {
    const stock = await saleProducts(env, "sn-sale", 2, 25);
    const told = await flashSale(api.url, { products: [...stock.keys()], clients: 80 });
    expect(told.filter((t) => t.status === 200).length).toBe(50);
    expect(told.filter((t) => ![0, 200, 409].includes(t.status))).toEqual([]);
    await expectSaleKeptItsWord(env, told, stock);
    await assertConservation(env, stock);
  });

  test("the primary killed mid-sale: the replica is promoted, no acknowledged order is lost, nothing oversold", async () => {
    const stock = await saleProducts(env, "sn-failover", 2, 30);
    const before = await sentinel.primaryPort();
    let promoted = 0;
    const told = await flashSale(api.url, {
      products: [...stock.keys()],
      clients: 90,
      midSale: { after: 20, run: async () => void (promoted = await sentinel.failOver()) },
    });
    expect(promoted).not.toBe(before);
    await expectSaleKeptItsWord(env, told, stock);
    // A replica may miss the last writes before the kill; the reconciler (every second
    // here) and the sweep of holds whose order ended close the gap.
    await expectConservedWithin(env, stock);
  });
});
