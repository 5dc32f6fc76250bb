import { errorCode, rawRows } from "@oms/shared";
import { z } from "zod";
import { marks, tuples } from "../db/sql";
import type { WriteKind } from "../db/writer";

export interface FirstAttemptRecord {
  idempotency_key: string;
  order_id: string;
  amount_cents: number;
  status: "failed" | "declined" | "succeeded" | "refunded";
  attempts: number;
  provider_ref: string | null;
  decline_reason: string | null;
}

const COLUMNS = [
  "idempotency_key",
  "order_id",
  "amount_cents",
  "status",
  "attempts",
  "provider_ref",
  "decline_reason",
] as const;

const KeyRow = z.object({ idempotency_key: z.string() });

/**
 * The simulator's ledger: records first attempts, each once per idempotency key. A key
 * that already has a row (an earlier delivery's attempt) is reported, never overwritten:
 * the caller then reads that attempt instead. The common case is one multi-row INSERT;
 * a duplicate key costs a look-up and a second INSERT of the rest (InnoDB rolls back
 * only the failed statement, not the batch's transaction).
 */
export const recordFirstAttempts: WriteKind<FirstAttemptRecord, "recorded" | "exists"> = {
  name: "recordFirstAttempts",
  async run(trx, ops) {
    const fresh: FirstAttemptRecord[] = [];
    const seen = new Set<string>();
    for (const op of ops) {
      if (seen.has(op.idempotency_key)) continue;
      seen.add(op.idempotency_key);
      fresh.push(op);
    }
    const insert = (rows: FirstAttemptRecord[]) =>
      trx.raw(
        `INSERT INTO payments (${COLUMNS.join(", ")}) VALUES ${tuples(rows.length, COLUMNS.length)}`,
        rows.flatMap((r) => COLUMNS.map((c) => r[c])),
      );
    let recorded = new Set(fresh);
    try {
      await insert(fresh);
    } catch (err) {
      if (errorCode(err) !== "ER_DUP_ENTRY") throw err;
      const keys = fresh.map((r) => r.idempotency_key);
      const existing = new Set(
        rawRows(
          KeyRow,
          await trx.raw(`SELECT idempotency_key FROM payments WHERE idempotency_key IN (${marks(keys.length)})`, keys),
        ).map((r) => r.idempotency_key),
      );
      recorded = new Set(fresh.filter((r) => !existing.has(r.idempotency_key)));
      if (recorded.size > 0) await insert([...recorded]);
    }
    return ops.map((op) => (recorded.has(op) ? "recorded" : "exists"));
  },
};
