/**
 * The admin webhook routes over HTTP: authentication, input validation (http/https URLs
 * only, known event types, a real secret), the secret never echoed, delete and its
 * cancelled deliveries, and paging through an endpoint's deliveries.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { appendEvents } from "@oms/shared";
import { type TestEnv } from "../../../test/support/env";
import { postJson, type RunningApi } from "../../../test/support/system";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "webhook-routes-admin-token-0123";
const SECRET = "whsec_routes_0123456789abcdef";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

let env: TestEnv;
let api: RunningApi;

useSystem({ ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: "0" }, (system) => ({ env, api } = system), { workers: false });

async function call(method: string, path: string, headers: Record<string, string> = admin) {
  const res = await fetch(`${api.url}${path}`, { method, headers });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

const register = (body: unknown, headers: Record<string, string> = {}) =>
  postJson(`${api.url}/admin/webhooks`, body, { ...admin, ...headers });
const valid = { url: "https://shop.example/hooks", events: ["order.completed"], secret: SECRET };

describe("admin webhook routes", () => {
  it("need the admin bearer token", async () => {
    const id = randomUUID();
    for (const [method, path] of [
      ["GET", "/admin/webhooks"],
      ["POST", "/admin/webhooks"],
      ["DELETE", `/admin/webhooks/${id}`],
      ["GET", `/admin/webhooks/${id}/deliveries`],
    ] as const) {
      expect((await call(method, path, {})).status, `${method} ${path}`).toBe(401);
    }
  });

  it.each([
    [{ ...valid, url: "ftp://shop.example/hooks" }, /url: must be an http or https URL/],
    [{ ...valid, url: "javascript:alert(1)" }, /url: must be an http or https URL/],
    [{ ...valid, url: "https://user:pw@shop.example/hooks" }, /url: must not carry credentials/],
    [{ ...valid, url: "not a url" }, /url/],
    [{ ...valid, events: [] }, /events: must name at least one event type/],
    [{ ...valid, events: ["order.exploded"] }, /events\.0/],
    [{ ...valid, events: ["order.failed", "order.failed"] }, /events: must not name a type twice/],
    [{ ...valid, secret: "short" }, /secret: must be at least 16 characters/],
    [{ url: valid.url, events: valid.events }, /secret is required/],
  ])("refuses %j with 400 naming the field", async (body, message) => {
    const res = await register(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: "Failed", code: "INVALID_INPUT" });
    expect(res.body.error).toMatch(message);
  });

  it("registers, lists and deletes an endpoint without ever echoing its secret", async () => {
    const created = await register(valid, { "idempotency-key": "register-once" });
    expect(created.status).toBe(201);
    const webhook = created.body.webhook as { id: string; events: string[] };
    expect(created.headers.get("location")).toBe(`/admin/webhooks/${webhook.id}`);
    expect(webhook.events).toEqual(["order.completed"]);
    const replay = await register(valid, { "idempotency-key": "register-once" });
    expect((replay.body.webhook as { id: string }).id).toBe(webhook.id);

    const list = await call("GET", "/admin/webhooks");
    expect(list.status).toBe(200);
    expect(list.body.webhooks).toEqual([expect.objectContaining({ id: webhook.id, url: valid.url })]);
    for (const text of [JSON.stringify(created.body), list.text]) expect(text).not.toContain(SECRET);

    expect((await call("DELETE", `/admin/webhooks/${webhook.id}`)).status).toBe(200);
    expect((await call("DELETE", `/admin/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await call("GET", "/admin/webhooks")).body.webhooks).toEqual([]);
    const history = await call("GET", `/admin/webhooks/${webhook.id}/deliveries`);
    expect(history.status).toBe(200);
    expect(history.body.webhook).toMatchObject({ id: webhook.id, deletedAt: expect.any(String) });
  });

  it("answers 404 for an unknown or malformed endpoint id", async () => {
    expect((await call("GET", `/admin/webhooks/${randomUUID()}/deliveries`)).body.code).toBe("NOT_FOUND");
    expect((await call("DELETE", "/admin/webhooks/not-a-uuid")).status).toBe(404);
  });

  it("pages through deliveries newest first, and deleting cancels the pending ones", async () => {
    const created = await register({ ...valid, events: ["order.completed", "stock.out"] });
    const id = (created.body.webhook as { id: string }).id;
    const eventIds = await env.db.transaction((trx) =>
      appendEvents(
        trx,
        Array.from({ length: 5 }, (_, i) => ({ type: "stock.out" as const, productId: `p${i}`, data: { i } })),
      ),
    );
    const seqs = (await env.db("events").whereIn("event_id", eventIds).orderBy("seq").pluck("seq")) as number[];
    await env
      .db("webhook_deliveries")
      .insert(eventIds.map((eventId, i) => ({ endpoint_id: id, event_id: eventId, event_seq: seqs[i] })));

    const first = await call("GET", `/admin/webhooks/${id}/deliveries?limit=2`);
    expect(first.status).toBe(200);
    const page1 = first.body.deliveries as Array<{ eventId: string; status: string; tries: unknown[] }>;
    expect(page1.map((d) => d.eventId)).toEqual([eventIds[4], eventIds[3]]);
    expect(page1[0]).toMatchObject({ status: "pending", tries: [] });
    const second = await call(
      "GET",
      `/admin/webhooks/${id}/deliveries?limit=2&cursor=${String(first.body.nextCursor)}`,
    );
    expect((second.body.deliveries as Array<{ eventId: string }>).map((d) => d.eventId)).toEqual([
      eventIds[2],
      eventIds[1],
    ]);
    expect((await call("GET", `/admin/webhooks/${id}/deliveries?cursor=abc`)).status).toBe(400);
    expect((await call("GET", `/admin/webhooks/${id}/deliveries?limit=501`)).status).toBe(400);

    const deleted = await call("DELETE", `/admin/webhooks/${id}`);
    expect(deleted.body.cancelledDeliveries).toBe(5);
    const after = await call("GET", `/admin/webhooks/${id}/deliveries?limit=200`);
    expect((after.body.deliveries as Array<{ status: string }>).every((d) => d.status === "cancelled")).toBe(true);
  });
});
