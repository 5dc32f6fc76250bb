/**
 * Webhook deliveries that cannot succeed: a receiver that never answers times each
 * attempt out, and WEBHOOK_RETRY_FOR_MS after its first attempt the delivery is given up
 * as failed, which lets the next event of its order go, with a retry time of its own;
 * deleting an endpoint cancels what is pending.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendEvents } from "@oms/shared";
import { type TestEnv } from "../../../test/support/env";
import { postJson, type InProcessWorkers, type RunningApi } from "../../../test/support/system";
import { eventually } from "../../../test/support/invariants";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "webhooks-give-up-token-0123456789";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;
let silent: Server;
const seen: string[] = [];

useSystem(
  {
    ADMIN_TOKEN,
    EVENTS_RELAY_INTERVAL_MS: "50",
    WEBHOOK_TIMEOUT_MS: "200",
    WEBHOOK_BACKOFF_MS: "100",
    WEBHOOK_BACKOFF_MAX_MS: "200",
    WEBHOOK_RETRY_FOR_MS: "1500",
  },
  (system) => ({ env, api, workers } = system),
  { apiFirst: true },
);

beforeAll(async () => {
  // Takes every request and never answers it.
  silent = createServer((req) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => seen.push((JSON.parse(body) as { type: string }).type));
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  silent?.closeAllConnections();
  silent?.close();
});

async function register(events: string[]): Promise<string> {
  const { port } = silent.address() as AddressInfo;
  const res = await postJson(
    `${api.url}/admin/webhooks`,
    { url: `http://127.0.0.1:${port}/`, events, secret: "whsec_give_up_0123456789" },
    admin,
  );
  expect(res.status).toBe(201);
  return (res.body.webhook as { id: string }).id;
}

async function deliveries(id: string) {
  const res = await fetch(`${api.url}/admin/webhooks/${id}/deliveries`, { headers: admin });
  return ((await res.json()) as { deliveries: Array<Record<string, unknown>> }).deliveries;
}

describe("deliveries that cannot succeed", () => {
  it("time out, are given up after WEBHOOK_RETRY_FOR_MS, and then let the order's next event go", async () => {
    const id = await register(["order.completed", "order.cancelled"]);
    const orderId = randomUUID();
    for (const type of ["order.completed", "order.cancelled"] as const)
      await env.db.transaction((trx) => appendEvents(trx, [{ type, orderId, data: { orderId } }]));

    const ended = await eventually(
      "both deliveries given up",
      async () => {
        const list = await deliveries(id);
        return list.length === 2 && list.every((d) => d.status === "failed") ? list : undefined;
      },
      20_000,
    );
    const [cancelled, completed] = ended;
    expect(completed).toMatchObject({ type: "order.completed", lastStatusCode: null });
    expect(completed?.lastError).toMatch(/no answer within 200 ms/);
    expect(Number(completed?.attempts)).toBeGreaterThan(1);
    // The later event waited for the earlier one, and was only tried once it was given up,
    // then retried for its own WEBHOOK_RETRY_FOR_MS.
    expect(cancelled).toMatchObject({ type: "order.cancelled", lastStatusCode: null });
    expect(Number(cancelled?.attempts)).toBeGreaterThan(1);
    expect(seen.indexOf("order.cancelled")).toBeGreaterThan(seen.lastIndexOf("order.completed"));

    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/oms_webhook_delivery_outcomes\{outcome="failed"[^}]*\} 2\b/);
    expect(await workers.deps.redis.hget(env.keys.webhookOutcomes, "failed")).toBe("2");
  });

  it("deleting the endpoint cancels its pending deliveries; their jobs then send nothing", async () => {
    const id = await register(["stock.out"]);
    await env.db.transaction((trx) => appendEvents(trx, [{ type: "stock.out", productId: "gone", data: {} }]));
    await eventually("a first attempt", async () => {
      const [first] = await deliveries(id);
      return Number(first?.attempts) >= 1 ? first : undefined;
    });
    const res = await fetch(`${api.url}/admin/webhooks/${id}`, { method: "DELETE", headers: admin });
    expect(((await res.json()) as { cancelledDeliveries: number }).cancelledDeliveries).toBe(1);
    const sent = seen.length;
    await new Promise((r) => setTimeout(r, 800));
    expect(seen.length).toBe(sent);
    expect((await deliveries(id))[0]).toMatchObject({ status: "cancelled", nextAttemptAt: null });
  });
});
