/**
 * The stock flush against the real MariaDB: small batches, reservations that span a
 * batch boundary, and several flushers at once must each apply every decrement once.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue } from "@oms/shared";
import { flushReservations, requestFlush } from "@oms/workers";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env?.close();
});

const uid = () => randomUUID().slice(0, 8);

/** reserve_purchase rows as committed orders leave them, oldest first. */
async function pendingRows(rows: Array<{ reserveId: string; productId: string; quantity: number }>): Promise<void> {
  const start = Date.now() - rows.length;
  await env.db("reserve_purchase").insert(
    rows.map((r, i) => ({
      reserve_id: r.reserveId,
      product_id: r.productId,
      quantity: r.quantity,
      created_at: new Date(start + i),
    })),
  );
}

async function quantities(ids: string[]): Promise<Record<string, number>> {
  const rows = (await env.db("product_details").whereIn("product_id", ids).select("product_id", "quantity")) as Array<{
    product_id: string;
    quantity: number;
  }>;
  return Object.fromEntries(rows.map((r) => [r.product_id, r.quantity]));
}

describe("flushReservations", () => {
  it("applies every row in batches, including a reservation that a batch boundary cuts in two", async () => {
    const [a, b] = [`p-${uid()}`, `p-${uid()}`];
    await insertProducts(env.db, [
      { id: a, quantity: 100 },
      { id: b, quantity: 100 },
    ]);
    await flushReservations(env.db, 1000); // anything an earlier test left
    const r1 = `o-${uid()}`;
    const r2 = `o-${uid()}`;
    // r1 holds two products; a batch of 1 applies only its oldest line.
    await pendingRows([
      { reserveId: r1, productId: a, quantity: 3 },
      { reserveId: r1, productId: b, quantity: 5 },
      { reserveId: r2, productId: a, quantity: 7 },
    ]);

    // Batches of one row: the loop goes on until a batch comes back short.
    expect(await flushReservations(env.db, 1)).toEqual({ rows: 3, units: 15, refused: [] });
    expect(await quantities([a, b])).toEqual({ [a]: 90, [b]: 95 });
    expect(await env.db("reserve_purchase").whereIn("reserve_id", [r1, r2]).count({ n: "*" })).toEqual([{ n: 0 }]);
    expect(await flushReservations(env.db, 1)).toEqual({ rows: 0, units: 0, refused: [] });
    expect(await quantities([a, b])).toEqual({ [a]: 90, [b]: 95 });
  });

  it("eight flushers racing over 600 rows of one hot product apply each unit exactly once", async () => {
    const hot = `p-${uid()}`;
    const cold = `p-${uid()}`;
    await insertProducts(env.db, [
      { id: hot, quantity: 10_000 },
      { id: cold, quantity: 10_000 },
    ]);
    await flushReservations(env.db, 1000);
    const rows = Array.from({ length: 600 }, (_, i) => ({
      reserveId: `o-${uid()}-${i}`,
      productId: i % 3 === 0 ? cold : hot,
      quantity: (i % 4) + 1,
    }));
    await pendingRows(rows);
    const expected = { [hot]: 10_000, [cold]: 10_000 };
    for (const r of rows) expected[r.productId] = (expected[r.productId] ?? 0) - r.quantity;

    const results = await Promise.all(Array.from({ length: 8 }, () => flushReservations(env.db, 25)));

    expect(results.reduce((s, r) => s + r.rows, 0)).toBe(600);
    expect(results.reduce((s, r) => s + r.units, 0)).toBe(rows.reduce((s, r) => s + r.quantity, 0));
    expect(await quantities([hot, cold])).toEqual(expected);
    expect(await env.db("reserve_purchase").count({ n: "*" })).toEqual([{ n: 0 }]);
  });

  it("a batch touching 300 products applies each product's own units", async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `p-${uid()}-${i}`);
    await insertProducts(
      env.db,
      ids.map((id) => ({ id, quantity: 50 })),
    );
    await flushReservations(env.db, 1000);
    const rows = ids.flatMap((productId, i) =>
      Array.from({ length: (i % 3) + 1 }, (_, k) => ({ reserveId: `o-${uid()}`, productId, quantity: k + 1 })),
    );
    await pendingRows(rows);

    expect(await flushReservations(env.db, 200)).toEqual({
      rows: rows.length,
      units: rows.reduce((sum, r) => sum + r.quantity, 0),
      refused: [],
    });
    // 1, 1+2 or 1+2+3 units per product, by its position.
    expect(await quantities(ids)).toEqual(Object.fromEntries(ids.map((id, i) => [id, 50 - [1, 3, 6][i % 3]!])));
  });

  it("refuses a product whose level cannot cover its rows, applying none of its rows", async () => {
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 4 }]);
    await flushReservations(env.db, 1000);
    await pendingRows([
      { reserveId: `o-${uid()}`, productId: p, quantity: 3 },
      { reserveId: `o-${uid()}`, productId: p, quantity: 2 },
    ]);
    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 0, units: 0, refused: [p] });
    expect(await quantities([p])).toEqual({ [p]: 4 });
    expect(await env.db("reserve_purchase").where("product_id", p).count({ n: "*" })).toEqual([{ n: 2 }]);
    await env.db("reserve_purchase").where("product_id", p).delete();
  });
});

describe("requestFlush", () => {
  it("schedules one flush job per window, due when the window ends, however many commits ask", async () => {
    const queue = createQueue("inventory", env.redis.duplicate(), env.keys, env.config);
    try {
      const request = requestFlush(queue, 1_000);
      const asked = Date.now();
      await Promise.all(Array.from({ length: 50 }, () => request()));
      for (let i = 0; i < 20; i++) await request();
      const jobs = await queue.getJobs(["delayed", "waiting", "prioritized"]);
      const flushes = jobs.filter((j) => j.name === "flush");
      // Two at most: the calls may straddle one window boundary.
      expect(flushes.length).toBeGreaterThanOrEqual(1);
      expect(flushes.length).toBeLessThanOrEqual(2);
      const first = flushes.sort((a, b) => a.timestamp - b.timestamp)[0];
      const due = (first?.timestamp ?? 0) + (first?.opts.delay ?? 0);
      // BullMQ stamps the job a few ms after the delay was computed: due is at, or just
      // after, the end of the window it was asked in; never before it.
      const windowEnd = due - (due % 1_000);
      expect(due - windowEnd).toBeLessThan(50);
      expect(windowEnd).toBeGreaterThan(asked);
      expect(windowEnd - asked).toBeLessThanOrEqual(2_000);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
