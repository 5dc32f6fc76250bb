import { afterAll, beforeAll, expect, test } from "vitest";
import { InventoryEngine } from "@oms/inventory";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

test("reserve then release returns stock", async () => {
  await insertProducts(env.db, [{ id: "p1", quantity: 5 }]);
  const engine = new InventoryEngine(env.redis, env.keys, async (ids) => {
    const rows = await env.db("product_details").whereIn("product_id", ids).select("product_id", "quantity");
    return new Map(rows.map((r: { product_id: string; quantity: number }) => [r.product_id, r.quantity]));
  });
  expect(await engine.reserve("o1", [{ productId: "p1", quantity: 3 }], 10_000)).toEqual({ ok: true, replayed: false });
  expect(await engine.available(["p1"])).toEqual(new Map([["p1", 2]]));
  expect(await engine.release("o1")).toEqual({ ok: true, replayed: false });
  expect(await engine.available(["p1"])).toEqual(new Map([["p1", 5]]));
});
