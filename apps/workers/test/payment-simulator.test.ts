/**
 * The payment simulator's record in MariaDB is what proves "never charge twice", so it
 * must hold under concurrent charges of one key and of many keys at once.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedPaymentProvider, TransientPaymentError } from "@oms/workers";
import { createTestEnv, type TestEnv } from "../../../test/support/env";

let env: TestEnv;
let provider: SimulatedPaymentProvider;

beforeAll(async () => {
  env = await createTestEnv();
  provider = new SimulatedPaymentProvider(env.db, { latencyMs: 0, transientFailures: 2 });
});

afterAll(async () => {
  await env?.close();
});

const charge = (key: string, token = "tok_ok") =>
  provider.charge({ idempotencyKey: key, orderId: randomUUID(), amountCents: 1234, token });

describe("SimulatedPaymentProvider", () => {
  it("twenty concurrent charges of one key charge once and all see the same reference", async () => {
    const key = `k-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => charge(key)));
    const references = new Set(results.map((r) => (r.status === "succeeded" ? r.reference : r.status)));
    expect(references.size).toBe(1);
    expect([...references][0]).toMatch(/^sim_/);
    const rows = (await env.db("payments").where({ idempotency_key: key })) as Array<{
      status: string;
      attempts: number;
    }>;
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([["succeeded", 1]]);
  });

  it("200 first charges of distinct keys at once all succeed, one row each", async () => {
    const keys = Array.from({ length: 200 }, () => `k-${randomUUID()}`);
    const results = await Promise.all(keys.map((k) => charge(k)));
    expect(results.every((r) => r.status === "succeeded")).toBe(true);
    const rows = (await env
      .db("payments")
      .whereIn("idempotency_key", keys)
      .where({ status: "succeeded" })) as unknown[];
    expect(rows).toHaveLength(200);
  });

  it("a transient failure leaves an undecided row that the next attempt decides; a decline is replayed", async () => {
    const flaky = `k-${randomUUID()}`;
    await expect(charge(flaky, "tok_error")).rejects.toBeInstanceOf(TransientPaymentError);
    await expect(charge(flaky, "tok_error")).rejects.toBeInstanceOf(TransientPaymentError);
    const third = await charge(flaky, "tok_error");
    expect(third.status).toBe("succeeded");
    expect(await env.db("payments").where({ idempotency_key: flaky }).select("status", "attempts")).toEqual([
      { status: "succeeded", attempts: 3 },
    ]);

    const declined = `k-${randomUUID()}`;
    expect(await charge(declined, "tok_decline")).toEqual({ status: "declined", reason: "card declined" });
    // The same key with a good card later still gets the first answer: one decision per key.
    expect(await charge(declined, "tok_ok")).toEqual({ status: "declined", reason: "card declined" });
  });
});
