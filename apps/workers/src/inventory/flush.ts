import { withTransaction, type Knex } from "@oms/shared";

export interface FlushResult {
  rows: number;
  units: number;
}

/**
 * Applies committed orders' stock decrements to product_details and deletes the
 * reserve_purchase rows it applied, in the same transaction: a replay finds nothing
 * left to apply. SKIP LOCKED lets several workers flush side by side without waiting.
 *
 * Commits insert reserve_purchase rows and check order_items' foreign keys against the
 * same product rows, so the transaction is kept short: READ COMMITTED takes no gap
 * locks, the oldest rows come by index (migration 003), and each product's rows go in
 * one DELETE.
 */
export async function flushReservations(db: Knex, batchSize: number): Promise<FlushResult> {
  const total: FlushResult = { rows: 0, units: 0 };
  for (;;) {
    const batch = await withTransaction(db, (trx) => flushBatch(trx, batchSize), { isolationLevel: "read committed" });
    total.rows += batch.rows;
    total.units += batch.units;
    if (batch.rows < batchSize) return total;
  }
}

async function flushBatch(trx: Knex.Transaction, batchSize: number): Promise<FlushResult> {
  const rows = (await trx.raw(
    "SELECT reserve_id, product_id, quantity FROM reserve_purchase ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED",
    [batchSize],
  )) as [Array<{ reserve_id: string; product_id: string; quantity: number }>, unknown];
  const pending = rows[0];
  if (pending.length === 0) return { rows: 0, units: 0 };

  const perProduct = new Map<string, { units: number; reserveIds: string[] }>();
  for (const r of pending) {
    const entry = perProduct.get(r.product_id) ?? { units: 0, reserveIds: [] };
    entry.units += r.quantity;
    entry.reserveIds.push(r.reserve_id);
    perProduct.set(r.product_id, entry);
  }
  // A fixed order of row locks across flushers keeps them from deadlocking.
  const byProductId = [...perProduct].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [productId, { units, reserveIds }] of byProductId) {
    const changed = await trx("product_details")
      .where("product_id", productId)
      .where("quantity", ">=", units)
      .decrement("quantity", units);
    if (changed !== 1) throw new Error(`flush would take product ${productId} below zero (${units} units pending)`);
    await trx("reserve_purchase").where("product_id", productId).whereIn("reserve_id", reserveIds).delete();
  }
  return { rows: pending.length, units: pending.reduce((s, r) => s + r.quantity, 0) };
}
