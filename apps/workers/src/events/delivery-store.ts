import { dbNumber, EventType, rawRows, withTransaction, type EventEnvelope, type Knex } from "@oms/shared";
import { z } from "zod";
import { marks } from "../db/sql";

/** One delivery (an event to an endpoint) with what sending it needs. */
export interface Delivery {
  deliveryId: number;
  endpointId: string;
  status: "pending" | "delivered" | "failed" | "cancelled";
  attempts: number;
  /** Since its first attempt, by MySQL's clock (0 before it). */
  triedForMs: number;
  url: string;
  secret: string;
  eventTypes: string[];
  endpointDeleted: boolean;
  seq: number;
  event: EventEnvelope;
}

const DeliveryRow = z.object({
  delivery_id: dbNumber,
  status: z.enum(["pending", "delivered", "failed", "cancelled"]),
  attempts: z.number(),
  tried_for_ms: dbNumber.nullable(),
  url: z.string(),
  secret: z.string(),
  event_types: z.string(),
  deleted_at: z.date().nullable(),
  seq: dbNumber,
  type: EventType,
  order_id: z.string().nullable(),
  product_id: z.string().nullable(),
  payload: z.string(),
  event_created_at: z.date(),
});

const BlockerRow = z.object({ event_id: z.string(), next_attempt_at: z.date().nullable() });
const EventIdRow = z.object({ event_id: z.string() });

/** An event's payload as appendEvents stored it: a JSON object. */
const EventData = z.record(z.string(), z.unknown());

export async function loadDelivery(db: Knex, endpointId: string, eventId: string): Promise<Delivery | null> {
  const [row] = rawRows(
    DeliveryRow,
    await db.raw(
      `SELECT d.delivery_id, d.status, d.attempts, w.url,
              (SELECT TIMESTAMPDIFF(MICROSECOND, MIN(a.attempted_at), NOW(3)) DIV 1000
                 FROM webhook_attempts a WHERE a.delivery_id = d.delivery_id) AS tried_for_ms, w.secret, w.event_types, w.deleted_at,
              e.seq, e.type, e.order_id, e.product_id, e.payload, e.created_at AS event_created_at
         FROM webhook_deliveries d
         JOIN webhook_endpoints w ON w.endpoint_id = d.endpoint_id
         JOIN events e ON e.event_id = d.event_id
        WHERE d.endpoint_id = ? AND d.event_id = ?`,
      [endpointId, eventId],
    ),
  );
  if (!row) return null;
  return {
    deliveryId: Number(row.delivery_id),
    endpointId,
    status: row.status,
    attempts: row.attempts,
    triedForMs: Number(row.tried_for_ms ?? 0),
    url: row.url,
    secret: row.secret,
    eventTypes: row.event_types.split(","),
    endpointDeleted: row.deleted_at !== null,
    seq: Number(row.seq),
    event: {
      id: eventId,
      type: row.type,
      createdAt: new Date(row.event_created_at).toISOString(),
      orderId: row.order_id,
      productId: row.product_id,
      data: EventData.parse(JSON.parse(row.payload)),
    },
  };
}

/**
 * The earliest event of the same order that this endpoint receives and has not yet had
 * delivered or given up: this delivery waits for it. One whose delivery does not exist yet
 * (its fan-out is queued) counts as not delivered for as long as a delivery would be
 * retried, so a fan-out that never happens holds nothing up for ever. Events of no order
 * wait for nothing.
 */
export async function firstBlocker(
  db: Knex,
  delivery: Delivery,
  retryForMs: number,
): Promise<{ eventId: string; nextAttemptAt: Date | null } | null> {
  const orderId = delivery.event.orderId;
  if (orderId === null) return null;
  const [row] = rawRows(
    BlockerRow,
    await db.raw(
      `SELECT e.event_id, d.next_attempt_at
         FROM events e
         LEFT JOIN webhook_deliveries d ON d.endpoint_id = ? AND d.event_id = e.event_id
        WHERE e.order_id = ? AND e.seq < ? AND e.type IN (${marks(delivery.eventTypes.length)})
          AND e.created_at >= (SELECT created_at FROM webhook_endpoints WHERE endpoint_id = ?)
          AND (d.status = 'pending' OR (d.status IS NULL AND e.created_at > NOW(3) - INTERVAL ? MICROSECOND))
        ORDER BY e.seq LIMIT 1`,
      [delivery.endpointId, orderId, delivery.seq, ...delivery.eventTypes, delivery.endpointId, retryForMs * 1_000],
    ),
  );
  return row
    ? { eventId: row.event_id, nextAttemptAt: row.next_attempt_at ? new Date(row.next_attempt_at) : null }
    : null;
}

/** The next pending delivery of the same order to the same endpoint, if any: it may be waiting on this one. */
export async function nextOfOrder(db: Knex, delivery: Delivery): Promise<string | null> {
  if (delivery.event.orderId === null) return null;
  const [row] = rawRows(
    EventIdRow,
    await db.raw(
      `SELECT event_id FROM webhook_deliveries
        WHERE endpoint_id = ? AND order_id = ? AND event_seq > ? AND status = 'pending'
        ORDER BY event_seq LIMIT 1`,
      [delivery.endpointId, delivery.event.orderId, delivery.seq],
    ),
  );
  return row?.event_id ?? null;
}

export interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/**
 * Records an attempt and what the delivery is now: delivered, failed (given up) or pending
 * until `nextAttemptAt`. A delivery cancelled while its attempt was in flight stays cancelled.
 */
export async function recordAttempt(
  db: Knex,
  delivery: Delivery,
  attempt: AttemptResult,
  after: { status: "pending" | "delivered" | "failed"; nextAttemptAt: Date | null },
): Promise<void> {
  const n = delivery.attempts + 1;
  const error = attempt.error?.slice(0, 500) ?? null;
  await withTransaction(db, async (trx) => {
    await trx.raw(
      "INSERT IGNORE INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?)",
      [delivery.deliveryId, n, attempt.statusCode, error, Math.round(attempt.durationMs)],
    );
    await trx.raw(
      `UPDATE webhook_deliveries SET attempts = ?, last_status_code = ?, last_error = ?, status = ?, next_attempt_at = ?,
              waiting_for = NULL, delivered_at = ${after.status === "delivered" ? "NOW(3)" : "NULL"}
        WHERE delivery_id = ? AND status = 'pending'`,
      [n, attempt.statusCode, error, after.status, after.nextAttemptAt, delivery.deliveryId],
    );
  });
}

/** The delivery waits for an earlier event of its order until about `until`. */
export async function markWaiting(db: Knex, delivery: Delivery, waitingFor: string, until: Date): Promise<void> {
  await db.raw("UPDATE webhook_deliveries SET waiting_for = ?, next_attempt_at = ? WHERE delivery_id = ?", [
    waitingFor,
    until,
    delivery.deliveryId,
  ]);
}

/** Ends a delivery without an attempt: its endpoint was deleted, or it was given up while waiting. */
export async function endDelivery(
  db: Knex,
  delivery: Delivery,
  status: "failed" | "cancelled",
  error: string,
): Promise<void> {
  await db.raw(
    "UPDATE webhook_deliveries SET status = ?, last_error = ?, next_attempt_at = NULL WHERE delivery_id = ? AND status = 'pending'",
    [status, error.slice(0, 500), delivery.deliveryId],
  );
}
