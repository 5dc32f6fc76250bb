/**
 * The reservation is chosen where a worker process is wired, not by a setting: the
 * same workers, given the benchmark's MySQL-only reservations, check out through the
 * API and the queue with MySQL alone, and schedule none of the Redis stock housekeeping.
 */
import { afterEach, expect, it } from "vitest";
import { batchedReservation, lockingReservation, redisReservation, type ReservationStrategy } from "@oms/workers";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  addToCartOk,
  postJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

let env: TestEnv | undefined;
let workers: InProcessWorkers | undefined;
let api: RunningApi | undefined;

afterEach(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
});

const REDIS_HOUSEKEEPING = ["sweep-holds", "flush", "reconcile"];

it.each([
  ["mysql-locking", lockingReservation],
  ["mysql-batched", batchedReservation],
  ["redis (production's)", redisReservation],
] as Array<[string, ReservationStrategy]>)("workers wired with the %s reservation", async (_name, reservation) => {
  env = await createTestEnv();
  await insertProducts(env.db, [{ id: "p", quantity: 10, priceCents: 300 }]);
  const { inventoryQueue } = (workers = await startInProcessWorkers(env, {}, { reservation })).deps;
  api = await startApi(env, {}, { soldOutFastPath: reservation.cachesStockInRedis });
  expect(api.deps.soldOutFastPath).toBe(reservation.cachesStockInRedis);

  await addToCartOk(api.url, "shopper", "p", 2);
  const answer = await postJson(`${api.url}/checkOutCart`, { clientID: "shopper" });
  expect(answer.status).toBe(200);
  expect(answer.body.status).toBe("Success");
  const order = (await env.db("orders").where({ client_id: "shopper" }).first("state", "total_cents")) as {
    state: string;
    total_cents: number;
  };
  expect(order).toEqual({ state: "completed", total_cents: 600 });

  const schedulers = await Promise.all(REDIS_HOUSEKEEPING.map((id) => inventoryQueue.getJobScheduler(id)));
  expect(schedulers.map(Boolean)).toEqual(REDIS_HOUSEKEEPING.map(() => reservation.cachesStockInRedis));
  expect(await inventoryQueue.getJobScheduler("prune")).toBeTruthy();
  // Without a cache the units leave MySQL in the checkout's own transaction, not at a later flush.
  if (!reservation.cachesStockInRedis) {
    const { quantity } = (await env.db("product_details").where({ product_id: "p" }).first("quantity")) as {
      quantity: number;
    };
    expect(quantity).toBe(8);
  }
});
