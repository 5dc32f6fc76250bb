/**
 * The client's checkout lock joins a second submit to the checkout that runs; it must
 * never answer a later checkout with an order that already ended (review finding 1:
 * a keyed retry after its idempotency record expired set the lock again to its finished
 * order, and the client's next checkout was told that old order had just completed).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { addToCartOk, postJson, type RunningApi } from "../../../test/support/system";
import { assertConservation, eventually, sleep } from "../../../test/support/invariants";
import { useSystem } from "../../../test/support/fixture";

let env: TestEnv;
let api: RunningApi;

const uid = () => randomUUID().slice(0, 8);
const IDEMPOTENCY_TTL_MS = 1_000;

useSystem(
  { IDEMPOTENCY_TTL_MS: String(IDEMPOTENCY_TTL_MS), CHECKOUT_TIMEOUT_MS: "15000" },
  (system) => ({ env, api } = system),
);

const addToCart = (clientID: string, productID: string, quantity: number) =>
  addToCartOk(api.url, clientID, productID, quantity);

const checkout = (clientID: string, headers: Record<string, string> = {}) =>
  postJson(`${api.url}/checkOutCart`, { clientID }, headers);

async function orderCount(clientId: string): Promise<number> {
  const row = (await env.db("orders").where({ client_id: clientId }).count({ n: "*" }).first()) as { n: number };
  return Number(row.n);
}

describe("the checkout lock never outlives its order", () => {
  it("a keyed retry after its record expired neither takes the lock nor hands its old order to the next checkout", async () => {
    const client = `c-${uid()}`;
    const [a, b] = [`p-${uid()}`, `p-${uid()}`];
    await insertProducts(env.db, [
      { id: a, quantity: 5, priceCents: 300 },
      { id: b, quantity: 5, priceCents: 700 },
    ]);
    await addToCart(client, a, 1);
    const first = await checkout(client, { "Idempotency-Key": "shared" });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const orderX = first.body.orderId as string;

    await sleep(IDEMPOTENCY_TTL_MS + 500);
    const retry = await checkout(client, { "Idempotency-Key": "shared" });
    // The retry is the same order, as a retry of that key should be...
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body.orderId).toBe(orderX);
    // ...and it leaves no lock behind: its order ended long ago.
    expect(await env.redis.get(env.keys.checkoutLock(client))).toBeNull();

    await addToCart(client, b, 2);
    const next = await checkout(client);
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(next.body.orderId).not.toBe(orderX);
    expect(next.body.totalCents).toBe(1_400);
    const cartLeft = (await env.db("client_cart").where({ client_id: client }).count({ n: "*" }).first()) as {
      n: number;
    };
    expect(Number(cartLeft.n)).toBe(0);
    expect(await orderCount(client)).toBe(2);
    await assertConservation(
      env,
      new Map([
        [a, 5],
        [b, 5],
      ]),
    );
  });

  it("a checkout that finds the lock held by an ended order takes the lock over and runs its own", async () => {
    const client = `c-${uid()}`;
    const a = `p-${uid()}`;
    await insertProducts(env.db, [{ id: a, quantity: 5, priceCents: 200 }]);
    await addToCart(client, a, 1);
    const first = await checkout(client);
    expect(first.status).toBe(200);
    const ended = first.body.orderId as string;

    // However a stale lock came about (a crash between a retry's lock and its release,
    // an older version), a checkout that joins must first see its owner still running.
    await env.redis.set(env.keys.checkoutLock(client), ended, "PX", 120_000);
    await addToCart(client, a, 3);
    const next = await checkout(client);
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(next.body.orderId).not.toBe(ended);
    expect(next.body.totalCents).toBe(600);
    expect(await env.redis.get(env.keys.checkoutLock(client))).toBeNull();
    await assertConservation(env, new Map([[a, 5]]));
  });

  it("a stale lock whose job BullMQ already removed is judged by the order's state in MySQL", async () => {
    const client = `c-${uid()}`;
    const a = `p-${uid()}`;
    await insertProducts(env.db, [{ id: a, quantity: 5, priceCents: 200 }]);
    await addToCart(client, a, 1);
    const first = await checkout(client);
    expect(first.status).toBe(200);
    const ended = String(first.body.orderId);
    // The answer can reach the client before BullMQ moves the job to completed (the
    // worker still holds its lock): remove it once it is finished.
    const job = await eventually("the checkout job to finish", async () => {
      const found = await api.deps.queues.checkout.getJob(ended);
      return (await found?.isCompleted()) ? found : undefined;
    });
    await job.remove();

    await env.redis.set(env.keys.checkoutLock(client), ended, "PX", 120_000);
    await addToCart(client, a, 1);
    const next = await checkout(client);
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(next.body.orderId).not.toBe(ended);
    await assertConservation(env, new Map([[a, 5]]));
  });

  it("refuses a clientID padded with whitespace, so one client has one idempotency scope and one lock", async () => {
    const client = `c-${uid()}`;
    for (const padded of [` ${client}`, `${client} `, `\t${client}`, `${client}\u3000`]) {
      const res = await checkout(padded, { "Idempotency-Key": "shared" });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error).toMatch(/clientID/);
    }
    expect(await orderCount(client)).toBe(0);
  });
});
