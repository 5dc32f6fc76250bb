/**
 * GET /admin/holds and the oms_active_holds gauge list every live hold: one waiting
 * for payment ("held") and one in the middle of payment ("committing"); an ended hold
 * (committed or released) is listed by neither.
 */
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { type RunningApi } from "../../../test/support/system";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "admin-token-for-holds-listing";

let env: TestEnv;
let api: RunningApi;

useSystem({ ADMIN_TOKEN }, (system) => ({ env, api } = system), { workers: false });

interface HoldsBody {
  count: number;
  holds: Array<{ orderId: string; state: string; expiresAt: string | null }>;
}

async function listed(): Promise<HoldsBody> {
  const res = await fetch(`${api.url}/admin/holds`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as HoldsBody;
}

async function activeHoldsGauge(): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const value = /^oms_active_holds(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1];
  return Number(value);
}

it("lists holds that are held and holds that are paying, and drops them when they end", async () => {
  const productId = `holds-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: productId, quantity: 10 }]);
  const [waiting, paying, sold] = [randomUUID(), randomUUID(), randomUUID()];
  const engine = api.deps.engine;
  for (const orderId of [waiting, paying, sold])
    expect(await engine.reserve(orderId, [{ productId, quantity: 1 }], 60_000)).toMatchObject({ ok: true });
  expect(await engine.beginCommit(paying)).toEqual({ ok: true });
  expect(await engine.beginCommit(sold)).toEqual({ ok: true });
  expect(await engine.commit(sold)).toEqual({ ok: true });

  const body = await listed();
  expect(body.count).toBe(2);
  expect(body.holds.map((h) => [h.orderId, h.state]).sort()).toEqual(
    [
      [waiting, "held"],
      [paying, "committing"],
    ].sort(),
  );
  // Expiry no longer applies to a hold whose payment started.
  expect(body.holds.find((h) => h.orderId === paying)?.expiresAt).toBeNull();
  expect(body.holds.find((h) => h.orderId === waiting)?.expiresAt).toEqual(expect.any(String));
  expect(await activeHoldsGauge()).toBe(2);

  expect(await engine.release(paying)).toMatchObject({ ok: true });
  expect((await listed()).holds.map((h) => h.orderId)).toEqual([waiting]);
  expect(await activeHoldsGauge()).toBe(1);
});
