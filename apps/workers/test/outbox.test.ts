/**
 * The outbox against the real MariaDB and Redis: an event row commits or rolls back with
 * the change it describes, a batch appends its events in one statement, the flush emits
 * stock.low and stock.out when a level crosses, and relays in two processes' worth of
 * connections never enqueue a row twice.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_QUEUE_NAMES, appendEvents, createDb, createRedis, type Knex } from "@oms/shared";
import {
  GroupCommitWriter,
  OrderStore,
  flushReservations,
  pruneEvents,
  relayOutbox,
  type Order,
  type WriteKind,
} from "@oms/workers";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { eventCounts } from "../../../test/support/invariants";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env?.close();
});

const uid = () => randomUUID().slice(0, 8);

/** Pending orders of one unit each, as the checkout's first step leaves them. */
async function pendingOrders(n: number): Promise<Order[]> {
  const product = `p-${uid()}`;
  await insertProducts(env.db, [{ id: product, quantity: 1_000 }]);
  const store = new OrderStore(env.db, new GroupCommitWriter(env.db, { connections: 1, maxBatch: 100 }));
  const orders: Order[] = [];
  for (let i = 0; i < n; i++) {
    const clientId = `c-${uid()}`;
    await env.db("client_cart").insert({ client_id: clientId, product_id: product, quantity: 1 });
    const created = await store.createPending(randomUUID(), clientId);
    if (created.kind !== "created") throw new Error(created.kind);
    orders.push(created.order);
  }
  return orders;
}

/** A writer whose connection is busy for a moment, so the ops submitted meanwhile form one batch. */
function busyWriter(db: Knex, beforeCommit?: () => Promise<void>) {
  const writer = new GroupCommitWriter(db, {
    connections: 1,
    maxBatch: 100,
    ...(beforeCommit ? { beforeCommit } : {}),
  });
  const sleep: WriteKind<number, number> = {
    name: "hold",
    async run(trx, ops) {
      await trx.raw("DO SLEEP(0.2)");
      return [...ops];
    },
  };
  const hold = writer.submit(sleep, 0);
  return { store: new OrderStore(db, writer), hold };
}

describe("events in the change's own transaction", () => {
  it("a batch that rolls back leaves no event; one that commits has one per order, in one INSERT", async () => {
    const orders = await pendingOrders(5);
    const ids = orders.map((o) => o.orderId);
    const failing = busyWriter(env.db, () => Promise.reject(new Error("crash before COMMIT")));
    const refused = await Promise.allSettled([
      failing.hold,
      ...orders.map((o) => failing.store.complete(o, `ref-${o.orderId}`)),
    ]);
    expect(refused.map((r) => r.status)).toEqual(Array(6).fill("rejected"));
    expect(await eventCounts(env, ids)).toEqual({});
    expect(await env.db("orders").whereIn("order_id", ids).distinct().pluck("state")).toEqual(["pending"]);

    const statements: string[] = [];
    const db = createDb(env.config.DATABASE_URL, 1);
    db.on("query", (q: { sql: string }) => statements.push(q.sql));
    try {
      const { store, hold } = busyWriter(db);
      const [, ...outcomes] = await Promise.all([
        hold,
        ...orders.map((o) => store.complete(o, `ref-${o.orderId}`)),
        store.fail(ids[0] ?? "", "checkout_failed", "already completed: changes nothing"),
      ]);
      expect(outcomes).toEqual(["completed", "completed", "completed", "completed", "completed", false]);
    } finally {
      await db.destroy();
    }
    expect(statements.filter((s) => s.startsWith("INSERT INTO events"))).toHaveLength(1);
    expect(await eventCounts(env, ids)).toEqual({ "order.completed": 5 });
    const [event] = (await env.db("events").where({ order_id: ids[0] }).select("payload")) as Array<{
      payload: string;
    }>;
    expect(JSON.parse(event?.payload ?? "{}")).toMatchObject({ orderId: ids[0], paymentRef: `ref-${ids[0]}` });
  });

  it("ending orders failed appends one order.failed each, and a replay appends nothing", async () => {
    const orders = await pendingOrders(3);
    const ids = orders.map((o) => o.orderId);
    const { store, hold } = busyWriter(env.db);
    const ended = await Promise.all([hold, ...ids.map((id) => store.fail(id, "payment_declined", "declined"))]);
    expect(ended.slice(1)).toEqual([true, true, true]);
    expect(await store.fail(ids[0] ?? "", "payment_declined", "declined")).toBe(false);
    expect(await eventCounts(env, ids)).toEqual({ "order.failed": 3 });
  });
});

describe("stock events from the flush", () => {
  it("stock.low when a level falls to the threshold, stock.out at 0, nothing otherwise", async () => {
    const product = `p-${uid()}`;
    await insertProducts(env.db, [{ id: product, quantity: 10 }]);
    const sell = async (units: number) => {
      await env.db("reserve_purchase").insert({ reserve_id: randomUUID(), product_id: product, quantity: units });
      await flushReservations(env.db, 100, { lowThreshold: 3 });
      return (await env.db("events").where({ product_id: product }).orderBy("seq").pluck("type")) as string[];
    };
    expect(await sell(2)).toEqual([]);
    expect(await sell(5)).toEqual(["stock.low"]);
    expect(await sell(1)).toEqual(["stock.low"]);
    expect(await sell(2)).toEqual(["stock.low", "stock.out"]);
    const [out] = (await env
      .db("events")
      .where({ product_id: product, type: "stock.out" })
      .select("payload")) as Array<{
      payload: string;
    }>;
    expect(JSON.parse(out?.payload ?? "{}")).toEqual({ productID: product, quantity: 0, threshold: 3 });
  });
});

describe("retention", () => {
  it("prunes old ended deliveries with their attempts and old events no pending delivery needs", async () => {
    const [oldDone = "", oldPending = "", oldAlone = "", oldUnrelayed = "", young = ""] = await env.db.transaction(
      (trx) =>
        appendEvents(
          trx,
          Array.from({ length: 5 }, (_, i) => ({ type: "stock.out" as const, productId: `prune-${i}`, data: {} })),
        ),
    );
    const endpointId = randomUUID();
    await env
      .db("webhook_endpoints")
      .insert({ endpoint_id: endpointId, url: "http://x.test/", event_types: "stock.out", secret: "s".repeat(16) });
    const seq = async (id = "") =>
      Number(((await env.db("events").where({ event_id: id }).first("seq")) as { seq: number }).seq);
    await env.db("webhook_deliveries").insert([
      { endpoint_id: endpointId, event_id: oldDone, event_seq: await seq(oldDone), status: "delivered", attempts: 1 },
      { endpoint_id: endpointId, event_id: oldPending, event_seq: await seq(oldPending) },
    ]);
    const done = (await env.db("webhook_deliveries").where({ event_id: oldDone }).first("delivery_id")) as {
      delivery_id: number;
    };
    await env
      .db("webhook_attempts")
      .insert({ delivery_id: done.delivery_id, attempt: 1, status_code: 200, duration_ms: 3 });
    const past = env.db.raw("NOW(3) - INTERVAL 2 HOUR");
    await env
      .db("events")
      .whereIn("event_id", [oldDone, oldPending, oldAlone, oldUnrelayed])
      .update({ created_at: past });
    await env
      .db("events")
      .whereNot({ event_id: oldUnrelayed })
      .update({ relayed_at: env.db.raw("NOW(3)") });
    await env.db("webhook_deliveries").where({ endpoint_id: endpointId }).update({ created_at: past });

    expect(await pruneEvents(env.db, { retentionMs: 3_600_000 })).toEqual({ deliveries: 1, events: 2 });
    expect(await env.db("webhook_attempts").where({ delivery_id: done.delivery_id })).toEqual([]);
    const left = (await env
      .db("events")
      .whereIn("event_id", [oldDone, oldPending, oldAlone, oldUnrelayed, young])
      .pluck("event_id")) as string[];
    expect(left.sort()).toEqual([oldPending, oldUnrelayed, young].sort());
  });
});

describe("relay", () => {
  it("two relays racing over rows being written move each row exactly once, its event id the job id", async () => {
    const relays = [0, 1].map(() => ({
      db: createDb(env.config.DATABASE_URL, 2),
      queue: new Queue(EVENT_QUEUE_NAMES.events, {
        connection: createRedis(env.config.REDIS_URL, { name: "relay-test" }),
        prefix: env.keys.queuePrefix("events"),
      }),
      moved: 0,
    }));
    // The earlier tests' events wait in the outbox too.
    const ids = (await env.db("events").whereNull("relayed_at").pluck("event_id")) as string[];
    let writing = true;
    const loops = relays.map(async (r) => {
      while (writing) r.moved += await relayOutbox(r.db, r.queue, 25);
      r.moved += await relayOutbox(r.db, r.queue, 25);
    });
    try {
      for (let i = 0; i < 30; i++) {
        const batch = Array.from({ length: 20 }, () => ({ type: "stock.low" as const, productId: "p", data: {} }));
        ids.push(...(await env.db.transaction((trx) => appendEvents(trx, batch))));
      }
      writing = false;
      await Promise.all(loops);
      expect(relays[0]?.moved ?? 0).toBeGreaterThan(0);
      expect(relays[1]?.moved ?? 0).toBeGreaterThan(0);
      expect((relays[0]?.moved ?? 0) + (relays[1]?.moved ?? 0)).toBe(ids.length);
      expect(await env.db("events").whereNull("relayed_at").count({ n: "*" })).toEqual([{ n: 0 }]);
      const jobs = await relays[0]?.queue.getJobs(["waiting"], 0, -1);
      expect(jobs?.map((j) => j.id).sort()).toEqual([...ids].sort());
    } finally {
      writing = false;
      for (const r of relays) {
        await r.queue.close();
        await r.db.destroy();
      }
    }
  });

  it("creates each event's deliveries for the live endpoints subscribed to it and registered before it", async () => {
    const endpoint = async (types: string, extra: Record<string, Knex.Raw> = {}) => {
      const id = randomUUID();
      await env.db("webhook_endpoints").insert({
        endpoint_id: id,
        url: "http://x.test/",
        event_types: types,
        secret: "s".repeat(16),
        ...extra,
      });
      return id;
    };
    // Only this test's endpoints are live.
    await env.db("webhook_endpoints").update({ deleted_at: env.db.raw("NOW(3)") });
    const wanted = await endpoint("order.failed,stock.out");
    await endpoint("order.completed");
    await endpoint("stock.out", { deleted_at: env.db.raw("NOW(3)") });
    const [eventId = ""] = await env.db.transaction((trx) =>
      appendEvents(trx, [{ type: "stock.out", productId: "relay-fan-out", data: {} }]),
    );
    // Registered a millisecond after the event (times are kept to the millisecond, and one
    // registered in the event's own millisecond counts as registered by then).
    const late = await endpoint("stock.out", {
      created_at: env.db.raw("(SELECT created_at + INTERVAL 1000 MICROSECOND FROM events WHERE event_id = ?)", [
        eventId,
      ]),
    });
    const queue = new Queue(EVENT_QUEUE_NAMES.events, {
      connection: env.redis,
      prefix: env.keys.queuePrefix("events"),
    });
    try {
      await relayOutbox(env.db, queue, 100);
      expect((await queue.getJob(eventId))?.data).toMatchObject({ eventId, endpointIds: [wanted] });
    } finally {
      await queue.close();
    }
    expect(await env.db("webhook_deliveries").where({ event_id: eventId }).pluck("endpoint_id")).toEqual([wanted]);
    expect(late).not.toBe(wanted);
  });
});
