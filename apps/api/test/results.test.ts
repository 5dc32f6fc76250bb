import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  postJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

let env: TestEnv;
let workers: InProcessWorkers;
const apis: RunningApi[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  await insertProducts(env.db, [{ id: "p", quantity: 1_000, priceCents: 250 }]);
  workers = await startInProcessWorkers(env);
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.close()));
  await workers?.close();
  await env?.close();
});

async function api(wiring: Parameters<typeof startApi>[2] = {}): Promise<RunningApi> {
  const started = await startApi(env, {}, wiring);
  apis.push(started);
  return started;
}

async function checkout(url: string, clientID: string) {
  return postJson<{ status: string; error: string; orderId?: string }>(`${url}/checkOutCart`, { clientID });
}

test("each API process gets its results on its own reply key", async () => {
  const a = await api();
  const b = await api();
  expect(a.deps.replyTo).toMatch(new RegExp(`^\\{${env.id}:r:[0-9a-f]+\\}:reply:`));
  expect(a.deps.replyTo).not.toBe(b.deps.replyTo);
  for (const [i, target] of [a, b].entries()) {
    expect(
      (await postJson(`${target.url}/addToCart`, { clientID: `own-${i}`, productID: "p", quantity: 1 })).status,
    ).toBe(200);
    const res = await checkout(target.url, `own-${i}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("Success");
  }
  // Every reply was popped by the process it was meant for.
  expect(await env.redis.exists(a.deps.replyTo ?? "", b.deps.replyTo ?? "")).toBe(0);
});

test("a second submit through another API process joins the first checkout and gets the same answer", async () => {
  const a = await api();
  const b = await api();
  await postJson(`${a.url}/addToCart`, { clientID: "twice", productID: "p", quantity: 2 });
  const [first, second] = await Promise.all([checkout(a.url, "twice"), checkout(b.url, "twice")]);
  expect([first.status, second.status]).toEqual([200, 200]);
  expect(second.body.orderId).toBe(first.body.orderId);
  const orders = (await env.db("orders").where({ client_id: "twice" }).select("order_id")) as Array<{
    order_id: string;
  }>;
  expect(orders).toHaveLength(1);
});

test("an API wired with resultPath events reads results from BullMQ's shared event stream instead", async () => {
  const viaEvents = await api({ resultPath: "events" });
  expect(viaEvents.deps.replyTo).toBeUndefined();
  expect((await postJson(`${viaEvents.url}/addToCart`, { clientID: "ev", productID: "p", quantity: 1 })).status).toBe(
    200,
  );
  const res = await checkout(viaEvents.url, "ev");
  expect(res.status).toBe(200);
  expect(res.body.status).toBe("Success");
});
