import type { Queue } from "bullmq";
import { withTransaction, type EventJob, type EventType, type Knex } from "@oms/shared";
import { marks, rowsOf } from "../db/sql";

interface OutboxRow {
  seq: number | string;
  event_id: string;
  type: EventType;
  order_id: string | null;
  product_id: string | null;
  created_at: Date;
}

/**
 * Moves outbox rows not yet relayed into the `events` queue, oldest first, and marks them
 * relayed, one transaction per batch. Relays in several processes never take the same
 * row: each locks its batch with SKIP LOCKED, so a second relay takes the next rows or
 * none. A relay that dies between the enqueue and the COMMIT leaves its rows unmarked;
 * they are enqueued again under the same job id (the event id), which BullMQ keeps once,
 * and every step after it is idempotent. Returns how many rows this call moved.
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
  const rows = rowsOf<OutboxRow>(
    await trx.raw(
      "SELECT seq, event_id, type, order_id, product_id, created_at FROM events WHERE relayed_at IS NULL ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED",
      [batchSize],
    ),
  );
  if (rows.length === 0) return 0;
  await queue.addBulk(
    rows.map((r) => {
      const data: EventJob = {
        eventId: r.event_id,
        seq: Number(r.seq),
        type: r.type,
        orderId: r.order_id,
        productId: r.product_id,
        createdAt: new Date(r.created_at).toISOString(),
      };
      return { name: r.type, data, opts: { jobId: r.event_id } };
    }),
  );
  await trx.raw(
    `UPDATE events SET relayed_at = NOW(3) WHERE seq IN (${marks(rows.length)})`,
    rows.map((r) => r.seq),
  );
  return rows.length;
}
