import { withTransaction, type Knex } from "@oms/shared";

export interface FlushResult {
  rows: number;
  units: number;
}

/**
 * Applies committed orders' stock decrements to product_details and deletes the
 * reserve_purchase rows it applied, in the same transaction: a replay finds nothing
 * left to apply. SKIP LOCKED lets several workers flush side by side without waiting.
 */
export async function flushReservations(db: Knex, batchSize: number): Promise<FlushResult> {
  const total: FlushResult = { rows: 0, units: 0 };
  for (;;) {
    const batch: FlushResult = await withTransaction(db, async (trx) => {
      const rows = (await trx.raw(
        "SELECT reserve_id, product_id, quantity FROM reserve_purchase ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED",
        [batchSize],
      )) as [Array<{ reserve_id: string; product_id: string; quantity: number }>, unknown];
      const pending = rows[0];
      if (pending.length === 0) return { rows: 0, units: 0 };

      const perProduct = new Map<string, number>();
      for (const r of pending) perProduct.set(r.product_id, (perProduct.get(r.product_id) ?? 0) + r.quantity);
      // A fixed order of row locks across flushers keeps them from deadlocking.
      for (const productId of [...perProduct.keys()].sort()) {
        const units = perProduct.get(productId) ?? 0;
        const changed = await trx("product_details")
          .where("product_id", productId)
          .where("quantity", ">=", units)
          .decrement("quantity", units);
        if (changed !== 1) throw new Error(`flush would take product ${productId} below zero (${units} units pending)`);
      }
      for (const r of pending) {
        await trx("reserve_purchase").where({ reserve_id: r.reserve_id, product_id: r.product_id }).delete();
      }
      return { rows: pending.length, units: pending.reduce((s, r) => s + r.quantity, 0) };
    });
    total.rows += batch.rows;
    total.units += batch.units;
    if (batch.rows < batchSize) return total;
  }
}
