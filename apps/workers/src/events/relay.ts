import type { Queue } from "bullmq";
import { dbNumber, EventType, rawRows, withTransaction, type EventJob, type Knex } from "@oms/shared";
import { z } from "zod";
import { marks, tuples } from "../db/sql";

const OutboxRow = z.object({
  seq: dbNumber,
  event_id: z.string(),
  type: EventType,
  order_id: z.string().nullable(),
  product_id: z.string().nullable(),
  created_at: z.date(),
});
type OutboxRow = z.infer<typeof OutboxRow>;

const EndpointRow = z.object({ endpoint_id: z.string(), event_types: z.string(), created_at: z.date() });

/**
 * Moves outbox rows not yet relayed into the `events` queue, oldest first, one transaction
 * per batch: it creates each event's deliveries (one per live endpoint subscribed to its
 * type and registered by the time it happened, in one INSERT for the batch), enqueues the
 * events naming them, and marks the rows relayed. Relays in several processes never take
 * the same row: each locks its batch with SKIP LOCKED, so a second relay takes the next
 * rows or none. A relay that dies between the enqueue and the COMMIT leaves its rows
 * unmarked and undelivered; they are enqueued again under the same job id (the event id),
 * which BullMQ keeps once, and every step after it is idempotent. Returns how many rows
 * this call moved.
 */
export async function relayOutbox(db: Knex, queue: Queue, batchSize: number): Promise<number> {
  let moved = 0;
  for (;;) {
    const n = await withTransaction(db, (trx) => relayBatch(trx, queue, batchSize), {
      isolationLevel: "read committed",
    });
    moved += n;
    if (n < batchSize) return moved;
  }
}

async function relayBatch(trx: Knex.Transaction, queue: Queue, batchSize: number): Promise<number> {
  const rows = rawRows(
    OutboxRow,
    await trx.raw(
      "SELECT seq, event_id, type, order_id, product_id, created_at FROM events WHERE relayed_at IS NULL ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED",
      [batchSize],
    ),
  );
  if (rows.length === 0) return 0;
  const endpoints = rawRows(
    EndpointRow,
    await trx.raw("SELECT endpoint_id, event_types, created_at FROM webhook_endpoints WHERE deleted_at IS NULL"),
  );
  const receivers = (r: OutboxRow) =>
    endpoints
      .filter((e) => e.event_types.split(",").includes(r.type) && new Date(e.created_at) <= new Date(r.created_at))
      .map((e) => e.endpoint_id);
  const jobs = rows.map((r) => {
    const data: EventJob = {
      eventId: r.event_id,
      seq: Number(r.seq),
      type: r.type,
      orderId: r.order_id,
      productId: r.product_id,
      createdAt: new Date(r.created_at).toISOString(),
      endpointIds: receivers(r),
    };
    return { name: r.type, data, opts: { jobId: r.event_id } };
  });
  const deliveries = jobs.flatMap(({ data }) =>
    data.endpointIds.map((endpointId) => [endpointId, data.eventId, data.seq, data.orderId]),
  );
  if (deliveries.length > 0)
    await trx.raw(
      `INSERT IGNORE INTO webhook_deliveries (endpoint_id, event_id, event_seq, order_id) VALUES ${tuples(deliveries.length, 4)}`,
      deliveries.flat(),
    );
  await queue.addBulk(jobs);
  await trx.raw(
    `UPDATE events SET relayed_at = NOW(3) WHERE seq IN (${marks(rows.length)})`,
    rows.map((r) => r.seq),
  );
  return rows.length;
}
