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
 * locks, the oldest rows come by index (migration 003), and a batch is one SELECT, one
 * UPDATE and one DELETE.
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

  const perProduct = new Map<string, number>();
  for (const r of pending) perProduct.set(r.product_id, (perProduct.get(r.product_id) ?? 0) + r.quantity);
  const products = [...perProduct];
  // Two statements per batch, however many products it touches: one UPDATE takes each
  // product's units (its WHERE sees the levels before the change, so none goes below
  // zero), one DELETE removes exactly the rows applied. A multi-row UPDATE by primary
  // key locks the rows in key order, the same in every flusher: no deadlock between them.
  const units = `CASE product_id ${products.map(() => "WHEN ? THEN ?").join(" ")} END`;
  const unitArgs = products.flatMap(([productId, n]) => [productId, n]);
  const ids = products.map(([productId]) => productId);
  const [updated] = (await trx.raw(
    `UPDATE product_details SET quantity = quantity - (${units}) WHERE product_id IN (${ids.map(() => "?").join(", ")}) AND quantity >= (${units})`,
    [...unitArgs, ...ids, ...unitArgs],
  )) as [{ affectedRows: number }, unknown];
  if (updated.affectedRows !== products.length) {
    const levels = (await trx("product_details").whereIn("product_id", ids).select("product_id", "quantity")) as Array<{
      product_id: string;
      quantity: number;
    }>;
    const short = levels.filter((l) => l.quantity < (perProduct.get(l.product_id) ?? 0)).map((l) => l.product_id);
    throw new Error(`flush would take ${short.join(", ")} below zero`);
  }
  await trx.raw(
    `DELETE FROM reserve_purchase WHERE (reserve_id, product_id) IN (${pending.map(() => "(?, ?)").join(", ")})`,
    pending.flatMap((r) => [r.reserve_id, r.product_id]),
  );
  return { rows: pending.length, units: pending.reduce((s, r) => s + r.quantity, 0) };
}
