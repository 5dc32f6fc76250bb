import { affectedRows, dbNumber, rawRows, withTransaction, type Knex } from "@oms/shared";
import { z } from "zod";
import { marks } from "../db/sql";
import type { PruneOptions } from "../cart/prune";

const DeliveryIdRow = z.object({ delivery_id: dbNumber });

/**
 * Deletes webhook deliveries that ended (delivered, failed, cancelled) longer than the
 * retention ago, with their attempts, then relayed events as old that no delivery still
 * names: a pending delivery keeps its event, however old. Oldest first along the
 * created_at keys, a batch per short READ COMMITTED transaction.
 */
export async function pruneEvents(db: Knex, options: PruneOptions): Promise<{ deliveries: number; events: number }> {
  const { retentionMs, batchSize = 1_000, maxBatches = 100 } = options;
  const age = retentionMs * 1_000;
  const batches = async (run: (trx: Knex.Transaction) => Promise<number>) => {
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const n = await withTransaction(db, run, { isolationLevel: "read committed" });
      total += n;
      if (n < batchSize) break;
    }
    return total;
  };
  const deliveries = await batches(async (trx) => {
    const ids = rawRows(
      DeliveryIdRow,
      await trx.raw(
        "SELECT delivery_id FROM webhook_deliveries WHERE created_at < NOW(3) - INTERVAL ? MICROSECOND AND status <> 'pending' ORDER BY created_at LIMIT ? FOR UPDATE",
        [age, batchSize],
      ),
    ).map((r) => r.delivery_id);
    if (ids.length === 0) return 0;
    await trx.raw(`DELETE FROM webhook_attempts WHERE delivery_id IN (${marks(ids.length)})`, ids);
    return affectedRows(
      await trx.raw(`DELETE FROM webhook_deliveries WHERE delivery_id IN (${marks(ids.length)})`, ids),
    );
  });
  const events = await batches(async (trx) =>
    affectedRows(
      await trx.raw(
        `DELETE FROM events WHERE created_at < NOW(3) - INTERVAL ? MICROSECOND AND relayed_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.event_id)
         ORDER BY created_at LIMIT ?`,
        [age, batchSize],
      ),
    ),
  );
  return { deliveries, events };
}
