import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Knex } from "./db";

/**
 * Domain events: what happened to an order or a product, written to the `events` table
 * (the outbox) in the same MySQL transaction as the change itself, then relayed to the
 * `events` queue and delivered to the webhook endpoints that subscribe to their type.
 */
export const EVENT_TYPES = [
  "order.completed",
  "order.failed",
  "order.cancelled",
  "order.refunded",
  "order.fulfilled",
  "order.shipped",
  "stock.low",
  "stock.out",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const EventType = z.enum(EVENT_TYPES);

/** One event to append. Give `orderId` for an order's events: they are delivered in order per order. */
export interface NewEvent {
  type: EventType;
  orderId?: string | null;
  productId?: string | null;
  /** What the receiver gets as `data`: small, JSON-serializable, no secrets or payment tokens. */
  data: Record<string, unknown>;
  /** Stable id (a UUID) for the receiver's dedupe; a random UUID when omitted. */
  eventId?: string;
}

/**
 * Appends events to the outbox inside the caller's transaction, in one multi-row INSERT
 * however many there are: they commit or roll back with the change they describe. Call it
 * only when the change really happened (a replay that changes nothing appends nothing), and
 * after the statement that changed the order's row: that row lock is what makes an order's
 * events' `seq` follow the order of their transactions, which in-order delivery relies on.
 * Returns the event ids, in order.
 */
export async function appendEvents(trx: Knex | Knex.Transaction, events: readonly NewEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = events.map((e) => [
    e.eventId ?? randomUUID(),
    e.type,
    e.orderId ?? null,
    e.productId ?? null,
    JSON.stringify(e.data),
  ]);
  await trx.raw(
    `INSERT INTO events (event_id, type, order_id, product_id, payload) VALUES ${rows.map(() => "(?, ?, ?, ?, ?)").join(", ")}`,
    rows.flat(),
  );
  return rows.map((r) => String(r[0]));
}

/** What a webhook receiver gets as the request body: `id` is stable across attempts (dedupe on it). */
export interface EventEnvelope {
  id: string;
  type: EventType;
  createdAt: string;
  orderId: string | null;
  productId: string | null;
  data: Record<string, unknown>;
}

/** The `events` queue's job: one outbox row, its event id as the job id (no payload: that stays in MySQL). */
export const EventJob = z.object({
  eventId: z.uuid(),
  seq: z.number().int().positive(),
  type: z.enum(EVENT_TYPES),
  orderId: z.string().nullable(),
  productId: z.string().nullable(),
  createdAt: z.string(),
  /** The endpoints the relay created a delivery of this event for. */
  endpointIds: z.array(z.uuid()),
});
export type EventJob = z.infer<typeof EventJob>;

/** The `webhooks` queue's job: one event to one endpoint (the secret and body stay in MySQL). */
export const WebhookJob = z.object({ endpointId: z.uuid(), eventId: z.uuid() });
export type WebhookJob = z.infer<typeof WebhookJob>;

/** The job id of a delivery: BullMQ ids may not hold ':'. */
export function deliveryJobId(endpointId: string, eventId: string): string {
  return `${endpointId}_${eventId}`;
}

// ---- Admin: registering endpoints ----

export const WebhookUrl = z
  .url({ protocol: /^https?$/, error: "must be an http or https URL" })
  .max(2000, "must be at most 2000 characters")
  .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), "must not carry credentials (user:password@)");

export const CreateWebhookRequest = z.object({
  url: WebhookUrl.describe("Where events are POSTed (http or https)"),
  events: z
    .array(z.enum(EVENT_TYPES))
    .min(1, "must name at least one event type")
    .max(EVENT_TYPES.length)
    .refine((types) => new Set(types).size === types.length, "must not name a type twice")
    .describe("Event types this endpoint receives"),
  secret: z
    .string()
    .min(16, "must be at least 16 characters")
    .max(200, "must be at most 200 characters")
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
    .describe("Signs every delivery (HMAC-SHA256); never shown again"),
});
export type CreateWebhookRequest = z.infer<typeof CreateWebhookRequest>;
