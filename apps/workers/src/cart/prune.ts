import { affectedRows, withTransaction, type Knex } from "@oms/shared";

export interface PruneOptions {
  /** Records younger than this stay: a re-delivery of their job may still come. */
  retentionMs: number;
  /** Rows per DELETE, each its own short transaction. */
  batchSize?: number;
  /** Batches per run; a backlog beyond that waits for the next run instead of holding the queue. */
  maxBatches?: number;
}

/**
 * Deletes cart jobs' replay records older than the retention, oldest first along the
 * created_at index, a batch per transaction. READ COMMITTED: the range takes no gap
 * locks, so adds inserting new records never wait on it. Returns how many went.
 */
export async function pruneCartOperations(db: Knex, options: PruneOptions): Promise<number> {
  const { retentionMs, batchSize = 1_000, maxBatches = 100 } = options;
  let pruned = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const deleted = await withTransaction(
      db,
      async (trx) =>
        affectedRows(
          await trx.raw(
            "DELETE FROM cart_operations WHERE created_at < NOW(3) - INTERVAL ? MICROSECOND ORDER BY created_at LIMIT ?",
            [retentionMs * 1_000, batchSize],
          ),
        ),
      { isolationLevel: "read committed" },
    );
    pruned += deleted;
    if (deleted < batchSize) break;
  }
  return pruned;
}
