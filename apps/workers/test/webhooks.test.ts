/**
 * Webhooks end to end: real checkouts through the API and in-process workers, the outbox
 * relay, and a real HTTP receiver that is down at first (connection refused), then
 * answers 500, then 200. Every event arrives, none is accepted twice, the events of one
 * order arrive in order, and the README's verification tells a forged request.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_QUEUE_NAMES, EVENT_TYPES, appendEvents, deliveryJobId, signPayload } from "@oms/shared";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  addToCartOk,
  postJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";
import { eventually, sleep } from "../../../test/support/invariants";
import { Receiver, readmeVerifier, type Received } from "./fixtures/receiver";

const ADMIN_TOKEN = "webhooks-admin-token-0123456789";
const SECRET = "whsec_test_0123456789abcdef";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const verify = readmeVerifier();

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;
let receiver: Receiver;

beforeAll(async () => {
  env = await createTestEnv({
    ADMIN_TOKEN,
    EVENTS_RELAY_INTERVAL_MS: "50",
    WEBHOOK_BACKOFF_MS: "100",
    WEBHOOK_BACKOFF_MAX_MS: "400",
    WEBHOOK_TIMEOUT_MS: "2000",
    STOCK_LOW_THRESHOLD: "2",
    FLUSH_WINDOW_MS: "50",
  });
  await insertProducts(env.db, [
    { id: "hot", quantity: 4 },
    { id: "plenty", quantity: 100 },
  ]);
  api = await startApi(env);
  workers = await startInProcessWorkers(env);
  receiver = await Receiver.down();
});

afterAll(async () => {
  await receiver?.close();
  await workers?.close();
  await api?.close();
  await env?.close();
});

async function adminGet(path: string): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}${path}`, { headers: admin });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

const accepted = (r: Received) => r.answered >= 200 && r.answered < 300;
const idOf = (r: Received) => (JSON.parse(r.body) as { id: string }).id;

describe("webhooks against a receiver that is down, then failing, then well", () => {
  let webhookId = "";
  const completed: string[] = [];

  it("registers the endpoint without echoing its secret", async () => {
    const res = await postJson(
      `${api.url}/admin/webhooks`,
      { url: receiver.url, events: EVENT_TYPES, secret: SECRET },
      admin,
    );
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    webhookId = (res.body.webhook as { id: string }).id;
    const list = await adminGet("/admin/webhooks");
    expect(list.text).not.toContain(SECRET);
    expect(list.body.webhooks).toEqual([expect.objectContaining({ id: webhookId, url: receiver.url })]);
  });

  it("delivers every event once by id, in order per order, signed as the README verifies", async () => {
    for (const client of ["c1", "c2", "c3", "c4"]) {
      await addToCartOk(api.url, client, "hot", 1);
      await addToCartOk(api.url, client, "plenty", 1);
      const res = await postJson(`${api.url}/checkOutCart`, { clientID: client });
      expect(res.status).toBe(200);
      const orderId = String(res.body.orderId);
      completed.push(orderId);
      // What the order lifecycle's paths will do: later events of the same order, each in its own transaction.
      for (const type of ["order.fulfilled", "order.refunded"] as const)
        await env.db.transaction((trx) => appendEvents(trx, [{ type, orderId, data: { orderId } }]));
    }
    await addToCartOk(api.url, "c5", "plenty", 1);
    expect((await postJson(`${api.url}/checkOutCart`, { clientID: "c5", paymentToken: "tok_decline" })).status).toBe(
      402,
    );

    // Down: attempts are refused and scheduled again.
    await eventually("a refused attempt", async () => {
      const row = (await env.db("webhook_attempts").whereNull("status_code").first()) as { error: string } | undefined;
      return row?.error.includes("ECONNREFUSED") ? row : undefined;
    });
    // Then up, answering 500 to its first six requests and 200 after.
    await receiver.up((_request, index) => (index < 6 ? 500 : 200));
    await eventually(
      "stock.out of the sold-out product",
      async () => (await env.db("events").where({ type: "stock.out", product_id: "hot" }).first()) ?? undefined,
    );
    const events = (await env.db("events").orderBy("seq").select("event_id", "type", "order_id")) as Array<{
      event_id: string;
      type: string;
      order_id: string | null;
    }>;
    await eventually(
      "every delivery delivered",
      async () => {
        const rows = (await env.db("webhook_deliveries").where({ status: "delivered" }).count({ n: "*" })) as Array<{
          n: number;
        }>;
        return Number(rows[0]?.n) === events.length ? true : undefined;
      },
      30_000,
    );

    const ok = receiver.requests.filter(accepted);
    expect(ok.map(idOf).sort()).toEqual(events.map((e) => e.event_id).sort());
    expect(new Set(ok.map(idOf)).size).toBe(ok.length);
    expect(receiver.requests.some((r) => r.answered === 500)).toBe(true);
    for (const r of receiver.requests) {
      expect(verify(String(r.headers["oms-signature"]), r.body, SECRET)).toBe(true);
      expect(r.headers["oms-event-id"]).toBe(idOf(r));
    }
    // In order per order: no request of an order's event before the previous event was accepted.
    for (const orderId of completed) {
      const mine = receiver.requests.filter((r) => (JSON.parse(r.body) as { orderId: string }).orderId === orderId);
      // Each request is for the order's next event not yet accepted: none ahead of it, none again after it.
      const sequence = ["order.completed", "order.fulfilled", "order.refunded"];
      let done = 0;
      for (const r of mine) {
        expect(sequence.indexOf((JSON.parse(r.body) as { type: string }).type)).toBe(done);
        if (accepted(r)) done++;
      }
      expect(done).toBe(sequence.length);
    }
  });

  it("a tampered body, signature, secret or stale timestamp fails the documented verification", () => {
    const r = receiver.requests.find(accepted);
    if (!r) throw new Error("no request was accepted");
    const header = String(r.headers["oms-signature"]);
    expect(verify(header, r.body, SECRET)).toBe(true);
    expect(verify(header, r.body.replace(/"type":"[^"]+"/, '"type":"order.refunded"'), SECRET)).toBe(false);
    expect(
      verify(
        header.replace(/v1=(.)/, (_m, c: string) => `v1=${c === "0" ? "1" : "0"}`),
        r.body,
        SECRET,
      ),
    ).toBe(false);
    expect(verify(header, r.body, "another-secret-0123456789")).toBe(false);
    expect(verify("v1=abc", r.body, SECRET)).toBe(false);
    const stale = Math.floor(Date.now() / 1000) - 3_600;
    expect(verify(`t=${stale},v1=${signPayload(SECRET, stale, r.body)}`, r.body, SECRET)).toBe(false);
  });

  it("the deliveries show refused, failed and accepted attempts; /metrics counts them", async () => {
    const res = await adminGet(`/admin/webhooks/${webhookId}/deliveries?limit=200`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(SECRET);
    const deliveries = res.body.deliveries as Array<{
      status: string;
      nextAttemptAt: string | null;
      tries: Array<{ statusCode: number | null; error: string | null }>;
    }>;
    expect(deliveries.every((d) => d.status === "delivered" && d.nextAttemptAt === null)).toBe(true);
    const tries = deliveries.flatMap((d) => d.tries);
    expect(tries.some((t) => t.statusCode === null && t.error?.includes("ECONNREFUSED"))).toBe(true);
    expect(tries.some((t) => t.statusCode === 500)).toBe(true);
    expect(deliveries.every((d) => d.tries.at(-1)?.statusCode === 200)).toBe(true);

    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`oms_webhook_delivery_outcomes\\{outcome="delivered"[^}]*\\} ${deliveries.length}\\b`),
    );
    expect(metrics).toMatch(/oms_webhook_delivery_outcomes\{outcome="retried"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/oms_outbox_lag_seconds\{[^}]*\} 0\b/);
    expect(metrics).toMatch(/oms_queue_jobs\{queue="webhooks",state="completed"/);
  });

  it("a delivery job that runs before its relay's COMMIT waits for the delivery row", async () => {
    // The relay enqueues, then commits: here the row comes 700 ms after the job.
    const eventId = randomUUID();
    await env.db("events").insert({
      event_id: eventId,
      type: "stock.out",
      product_id: "late-row",
      payload: "{}",
      relayed_at: env.db.raw("NOW(3)"),
    });
    const seq = Number(((await env.db("events").where({ event_id: eventId }).first("seq")) as { seq: number }).seq);
    const webhooks = new Queue(EVENT_QUEUE_NAMES.webhooks, {
      connection: env.redis,
      prefix: env.keys.queuePrefix("webhooks"),
    });
    try {
      await webhooks.add("stock.out", { endpointId: webhookId, eventId }, { jobId: deliveryJobId(webhookId, eventId) });
      await sleep(700);
      await env.db("webhook_deliveries").insert({ endpoint_id: webhookId, event_id: eventId, event_seq: seq });
      await eventually("the late row's delivery", async () =>
        receiver.requests.some((r) => accepted(r) && idOf(r) === eventId) ? true : undefined,
      );
    } finally {
      await webhooks.close();
    }
  });
});
