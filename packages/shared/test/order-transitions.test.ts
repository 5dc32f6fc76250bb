/**
 * The one table of order moves, and transitionOrder against MariaDB: a move the table
 * does not list is refused, and a move from a state the order is no longer in changes
 * nothing (the UPDATE is conditional on it), so a caller that lost a race cannot win it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ORDER_STATES,
  ORDER_TRANSITIONS,
  PAID_STATES,
  canTransition,
  statesLeadingTo,
  transitionOrder,
  wasPaid,
  withTransaction,
} from "@oms/shared";
import { createTestEnv, type TestEnv } from "../../../test/support/env";

describe("the transition table", () => {
  it("names every state, and final states lead nowhere", () => {
    expect(Object.keys(ORDER_TRANSITIONS).sort()).toEqual([...ORDER_STATES].sort());
    for (const final of ["failed", "cancelled", "refunded"] as const) expect(ORDER_TRANSITIONS[final]).toEqual([]);
  });

  it("a fulfilled or shipped order cannot be cancelled, only refunded; nothing goes back to pending or completed", () => {
    expect(statesLeadingTo("cancelled")).toEqual(["completed", "partially_refunded"]);
    expect(canTransition("fulfilled", "refunded")).toBe(true);
    expect(canTransition("shipped", "fulfilled")).toBe(false);
    expect(statesLeadingTo("completed")).toEqual(["pending"]);
    expect(statesLeadingTo("pending")).toEqual([]);
  });

  it("paid states are the ones reached from completed, and completed itself", () => {
    const reachable = new Set<string>(["completed"]);
    for (let grew = true; grew;) {
      grew = false;
      for (const from of [...reachable])
        for (const to of ORDER_TRANSITIONS[from as keyof typeof ORDER_TRANSITIONS])
          if (!reachable.has(to)) grew = Boolean(reachable.add(to));
    }
    expect([...PAID_STATES].sort()).toEqual([...reachable].sort());
    expect(wasPaid("pending") || wasPaid("failed")).toBe(false);
  });
});

describe("transitionOrder", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => env?.close());

  async function order(state: string): Promise<string> {
    const id = randomUUID();
    await env.db("orders").insert({ order_id: id, client_id: "c", state, total_cents: 100 });
    return id;
  }
  const stateOf = async (id: string) =>
    (await env.db("orders").where({ order_id: id }).first("state", "fulfilled_at")) as {
      state: string;
      fulfilled_at: Date | null;
    };

  it("moves an order along the table and stamps the move's time", async () => {
    const id = await order("completed");
    const moved = await withTransaction(env.db, (trx) => transitionOrder(trx, id, "completed", "fulfilled"));
    expect(moved).toEqual({ ok: true, from: "completed", to: "fulfilled" });
    const row = await stateOf(id);
    expect(row.state).toBe("fulfilled");
    expect(row.fulfilled_at).not.toBeNull();
  });

  it("refuses a move the table does not list, and one from a state the order has left", async () => {
    const id = await order("shipped");
    expect(await withTransaction(env.db, (trx) => transitionOrder(trx, id, "shipped", "cancelled"))).toEqual({
      ok: false,
      from: "shipped",
    });
    // A caller that read "completed" before someone shipped the order loses.
    expect(await withTransaction(env.db, (trx) => transitionOrder(trx, id, "completed", "cancelled"))).toEqual({
      ok: false,
      from: "completed",
    });
    expect((await stateOf(id)).state).toBe("shipped");
  });

  it("a self-move (a partial refund of a shipped order) counts as made", async () => {
    const id = await order("shipped");
    const moved = await withTransaction(env.db, (trx) =>
      transitionOrder(trx, id, "shipped", "shipped", { refunded_cents: 40 }),
    );
    expect(moved.ok).toBe(true);
    // Even one that changes no column (fulfil again): the row matched, so the move stands.
    const again = await order("fulfilled");
    expect((await withTransaction(env.db, (trx) => transitionOrder(trx, again, "fulfilled", "fulfilled"))).ok).toBe(
      true,
    );
  });
});
