import { affectedRows, parseRows, rawRows, withTransaction, type Knex } from "@oms/shared";
import { z } from "zod";
import { appendStockCrossings } from "../events/domain-events";

const PendingRow = z.object({ reserve_id: z.string(), product_id: z.string(), quantity: z.number() });
const LevelRow = z.object({ product_id: z.string(), quantity: z.number() });

export interface FlushResult {
  rows: number;
  units: number;
  /**
   * Products whose level is below their unflushed units: their rows stay (an operator
   * must raise the level; nothing else may take stock from it), the others are applied.
   */
  refused: string[];
}

/** The batch's UPDATE could not take some product's units: roll it back, find them, skip them. */
class ShortLevelError extends Error {
  constructor(readonly perProduct: Map<string, number>) {
    super("flush would take a level below zero");
  }
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
 *
 * A product whose level cannot cover its rows (a level edited in MySQL by hand, say) is
 * refused alone: its rows are skipped for the rest of this flush, and every other
 * product is applied.
 *
 * A product the flush takes to `lowThreshold` or below emits `stock.low`, to 0 `stock.out`
 * (an outbox row in the same transaction; with the default 0, only `stock.out`).
 */
export async function flushReservations(
  db: Knex,
  batchSize: number,
  options: { lowThreshold?: number } = {},
): Promise<FlushResult> {
  const total = { rows: 0, units: 0 };
  const refused = new Set<string>();
  for (;;) {
    let batch: BatchResult;
    try {
      batch = await withTransaction(db, (trx) => flushBatch(trx, batchSize, refused, options.lowThreshold ?? 0), {
        isolationLevel: "read committed",
      });
    } catch (err) {
      if (!(err instanceof ShortLevelError)) throw err;
      const short = await shortProducts(db, err.perProduct);
      // None short any more: a restock raced the batch; the next flush job tries again.
      if (short.length === 0) throw err;
      for (const productId of short) refused.add(productId);
      continue;
    }
    total.rows += batch.rows;
    total.units += batch.units;
    if (batch.selected < batchSize) return { ...total, refused: [...refused] };
  }
}

interface BatchResult {
  selected: number;
  rows: number;
  units: number;
}

async function flushBatch(
  trx: Knex.Transaction,
  batchSize: number,
  skip: Set<string>,
  lowThreshold: number,
): Promise<BatchResult> {
  const skipped = [...skip];
  const pending = rawRows(
    PendingRow,
    await trx.raw(
      `SELECT reserve_id, product_id, quantity FROM reserve_purchase${
        skipped.length ? ` WHERE product_id NOT IN (${skipped.map(() => "?").join(", ")})` : ""
      } ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED`,
      [...skipped, batchSize],
    ),
  );
  if (pending.length === 0) return { selected: 0, rows: 0, units: 0 };

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
  const updated = affectedRows(
    await trx.raw(
      `UPDATE product_details SET quantity = quantity - (${units}) WHERE product_id IN (${ids.map(() => "?").join(", ")}) AND quantity >= (${units})`,
      [...unitArgs, ...ids, ...unitArgs],
    ),
  );
  if (updated !== products.length) throw new ShortLevelError(perProduct);
  await appendStockCrossings(trx, perProduct, lowThreshold);
  await trx.raw(
    `DELETE FROM reserve_purchase WHERE (reserve_id, product_id) IN (${pending.map(() => "(?, ?)").join(", ")})`,
    pending.flatMap((r) => [r.reserve_id, r.product_id]),
  );
  return { selected: pending.length, rows: pending.length, units: pending.reduce((s, r) => s + r.quantity, 0) };
}

/** Products whose level (read after the batch rolled back) is below the batch's units of them. */
async function shortProducts(db: Knex, perProduct: Map<string, number>): Promise<string[]> {
  const levels = parseRows(
    LevelRow,
    await db("product_details")
      .whereIn("product_id", [...perProduct.keys()])
      .select("product_id", "quantity"),
  );
  const known = new Set(levels.map((l) => l.product_id));
  return [
    ...levels.filter((l) => l.quantity < (perProduct.get(l.product_id) ?? 0)).map((l) => l.product_id),
    ...[...perProduct.keys()].filter((id) => !known.has(id)),
  ];
}
