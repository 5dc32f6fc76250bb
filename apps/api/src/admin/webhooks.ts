import { randomUUID } from "node:crypto";
import { z } from "zod";
import { CreateWebhookRequest, dbNumber, PageQuery, parseRow, parseRows, rawRows, type Knex } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { failure, parseInput, success, type HttpResult } from "../http/result";
import { infrastructureFailure } from "../handlers/errors";
import { cursorOf, pageOf } from "../handlers/paging";

/** Live endpoints at most: each event fans out to every one, so the count is bounded. */
export const MAX_WEBHOOK_ENDPOINTS = 100;

const EndpointRow = z.object({
  endpoint_id: z.string(),
  url: z.string(),
  event_types: z.string(),
  created_at: z.date(),
  deleted_at: z.date().nullable(),
});
type EndpointRow = z.infer<typeof EndpointRow>;

/** An endpoint as the admin API shows it: never its secret. */
function view(row: EndpointRow) {
  return {
    id: row.endpoint_id,
    url: row.url,
    events: row.event_types.split(","),
    createdAt: new Date(row.created_at).toISOString(),
    ...(row.deleted_at ? { deletedAt: new Date(row.deleted_at).toISOString() } : {}),
  };
}

const CountRow = z.object({ n: dbNumber });

const ENDPOINT_COLUMNS = ["endpoint_id", "url", "event_types", "created_at", "deleted_at"];

/** POST /admin/webhooks: registers an endpoint; it receives the events of its types that happen from now on. */
export async function createWebhook(deps: ApiDeps, body: unknown): Promise<HttpResult> {
  const input = parseInput(CreateWebhookRequest, body);
  if (!input.ok) return input.result;
  const { url, events, secret } = input.data;
  try {
    const rows = rawRows(
      CountRow,
      await deps.db.raw("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE deleted_at IS NULL"),
    );
    if (Number(rows[0]?.n ?? 0) >= MAX_WEBHOOK_ENDPOINTS)
      return failure("CONFLICT", `at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints; delete one first`);
    const id = randomUUID();
    await deps.db("webhook_endpoints").insert({ endpoint_id: id, url, event_types: events.join(","), secret });
    const row = await endpoint(deps.db, id);
    if (!row) throw new Error(`webhook endpoint ${id} vanished after its insert`);
    return success({ webhook: view(row) }, 201, { Location: `/admin/webhooks/${id}` });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** GET /admin/webhooks: the live endpoints, oldest first. */
export async function listWebhooks(deps: ApiDeps): Promise<HttpResult> {
  try {
    const rows = parseRows(
      EndpointRow,
      await deps.db("webhook_endpoints").whereNull("deleted_at").orderBy("created_at").select(ENDPOINT_COLUMNS),
    );
    return success({ webhooks: rows.map(view) });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** DELETE /admin/webhooks/:id: no more deliveries to it; those still pending end as cancelled. */
export async function deleteWebhook(deps: ApiDeps, rawId: string): Promise<HttpResult> {
  const id = parseEndpointId(rawId);
  if (!id.ok) return id.result;
  try {
    const deleted = await deps.db.transaction(async (trx) => {
      const n = await trx("webhook_endpoints")
        .where({ endpoint_id: id.id })
        .whereNull("deleted_at")
        .update({ deleted_at: trx.raw("NOW(3)") });
      if (n === 0) return null;
      const cancelled: unknown = await trx("webhook_deliveries")
        .where({ endpoint_id: id.id, status: "pending" })
        .update({ status: "cancelled", next_attempt_at: null, last_error: "the endpoint was deleted" });
      return Number(cancelled);
    });
    if (deleted === null) return failure("NOT_FOUND", `no webhook endpoint ${id.id}`);
    if (deleted > 0) await deps.redis.hincrby(deps.keys.webhookOutcomes, "cancelled", deleted);
    return success({ id: id.id, cancelledDeliveries: deleted });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** Deliveries page newest first by their id; the cursor is the last id shown. */
export const DeliveriesQuery = PageQuery.extend({
  cursor: cursorOf("webhook-deliveries", z.tuple([z.number().int().positive()])),
});

const DeliveryRow = z.object({
  delivery_id: dbNumber,
  event_id: z.string(),
  type: z.string(),
  order_id: z.string().nullable(),
  status: z.string(),
  attempts: z.number(),
  last_status_code: z.number().nullable(),
  last_error: z.string().nullable(),
  waiting_for: z.string().nullable(),
  next_attempt_at: z.date().nullable(),
  delivered_at: z.date().nullable(),
  created_at: z.date(),
});

const AttemptRow = z.object({
  delivery_id: dbNumber,
  attempt: z.number(),
  status_code: z.number().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number(),
  attempted_at: z.date(),
});

/** GET /admin/webhooks/:id/deliveries: newest first, each with its attempts, status codes and next try. */
export async function listDeliveries(deps: ApiDeps, rawId: string, query: unknown): Promise<HttpResult> {
  const id = parseEndpointId(rawId);
  if (!id.ok) return id.result;
  const page = parseInput(DeliveriesQuery, query ?? {});
  if (!page.ok) return page.result;
  const { limit, cursor } = page.data;
  try {
    const found = await endpoint(deps.db, id.id);
    if (!found) return failure("NOT_FOUND", `no webhook endpoint ${id.id}`);
    const rows = parseRows(
      DeliveryRow,
      await deps
        .db("webhook_deliveries as d")
        .join("events as e", "e.event_id", "d.event_id")
        .where("d.endpoint_id", id.id)
        .modify((q) => (cursor ? q.where("d.delivery_id", "<", cursor[0]) : q))
        .orderBy("d.delivery_id", "desc")
        .limit(limit + 1)
        .select(
          ["delivery_id", "event_id", "order_id", "status", "attempts", "last_status_code", "last_error"]
            .map((c) => `d.${c}`)
            .concat(["d.waiting_for", "d.next_attempt_at", "d.delivered_at", "d.created_at", "e.type"]),
        ),
    );
    const page = pageOf(rows, limit, "webhook-deliveries", (r) => [Number(r.delivery_id)]);
    const shown = page.rows;
    const attempts = parseRows(
      AttemptRow,
      await deps
        .db("webhook_attempts")
        .whereIn(
          "delivery_id",
          shown.map((r) => r.delivery_id),
        )
        .orderBy(["delivery_id", "attempt"])
        .select("delivery_id", "attempt", "status_code", "error", "duration_ms", "attempted_at"),
    );
    const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
    return success({
      webhook: view(found),
      deliveries: shown.map((r) => ({
        eventId: r.event_id,
        type: r.type,
        orderId: r.order_id,
        status: r.status,
        attempts: r.attempts,
        lastStatusCode: r.last_status_code,
        lastError: r.last_error,
        waitingFor: r.waiting_for,
        nextAttemptAt: r.status === "pending" ? iso(r.next_attempt_at) : null,
        deliveredAt: iso(r.delivered_at),
        createdAt: iso(r.created_at),
        tries: attempts
          .filter((a) => String(a.delivery_id) === String(r.delivery_id))
          .map((a) => ({
            attempt: a.attempt,
            statusCode: a.status_code,
            error: a.error,
            durationMs: a.duration_ms,
            at: iso(a.attempted_at),
          })),
      })),
      limit,
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

async function endpoint(db: Knex, id: string): Promise<EndpointRow | undefined> {
  return parseRow(EndpointRow, await db("webhook_endpoints").where({ endpoint_id: id }).first(ENDPOINT_COLUMNS));
}

function parseEndpointId(raw: string): { ok: true; id: string } | { ok: false; result: HttpResult } {
  const parsed = z.uuid().safeParse(raw);
  return parsed.success
    ? { ok: true, id: parsed.data }
    : { ok: false, result: failure("NOT_FOUND", `no webhook endpoint ${raw.slice(0, 100)}`) };
}
