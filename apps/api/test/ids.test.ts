import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  getJson,
  startApi,
  startInProcessWorkers,
  postJson,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;

beforeAll(async () => {
  env = await createTestEnv();
  await insertProducts(env.db, [{ id: "abc", quantity: 5 }]);
  workers = await startInProcessWorkers(env);
  api = await startApi(env);
});
afterAll(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
});

test("ids compare exactly: another case or accent is another id", async () => {
  expect((await getJson(`${api.url}/products/abc`)).status).toBe(200);
  expect((await getJson(`${api.url}/products/ABC`)).status).toBe(404);
  expect((await getJson(`${api.url}/products/%C3%A1bc`)).status).toBe(404);

  expect((await postJson(`${api.url}/addToCart`, { clientID: "alice", productID: "abc", quantity: 2 })).status).toBe(
    200,
  );
  const alice = await getJson<{ status: string; error: string; items: unknown[] }>(`${api.url}/cart/alice`);
  const shouting = await getJson<{ status: string; error: string; items: unknown[] }>(`${api.url}/cart/ALICE`);
  expect(alice.body.items).toHaveLength(1);
  expect(shouting.body.items).toHaveLength(0);

  const unknownCase = await postJson(`${api.url}/addToCart`, { clientID: "bob", productID: "ABC", quantity: 1 });
  expect(unknownCase.status).toBe(404);
});
