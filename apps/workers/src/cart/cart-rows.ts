import { rawRows, type Knex } from "@oms/shared";
import { z } from "zod";
import { marks, tuples } from "../db/sql";

/*
 * The cart rows and replay records that every cart write (add, set, clear) reads and
 * writes the same way, inside the writer's batch transaction.
 */

/** One cart line's identity (client and product) as a map key. */
export function lineKey(line: { clientId: string; productId: string }): string {
  return JSON.stringify([line.clientId, line.productId]);
}

const cartLine = z.object({ client_id: z.string(), product_id: z.string(), quantity: z.number() });

/**
 * Locks the cart lines these ops touch (each once), in key order as a checkout's snapshot locks them (READ
 * COMMITTED: a line that does not exist yet takes no gap lock), and answers what each
 * holds now, by lineKey.
 */
export async function lockCartLines(
  trx: Knex.Transaction,
  ops: ReadonlyArray<{ clientId: string; productId: string }>,
): Promise<Map<string, number>> {
  const lines = [...new Map(ops.map((o) => [lineKey(o), o])).values()];
  const held = rawRows(
    cartLine,
    await trx.raw(
      `SELECT client_id, product_id, quantity FROM client_cart WHERE ${lines.map(() => "(client_id = ? AND product_id = ?)").join(" OR ")} ORDER BY client_id, product_id FOR UPDATE`,
      lines.flatMap((l) => [l.clientId, l.productId]),
    ),
  );
  return new Map(held.map((r) => [lineKey({ clientId: r.client_id, productId: r.product_id }), r.quantity]));
}

const operationRow = z.object({ operation_id: z.string() });

/** The job ids among `operationIds` whose change was applied already (a re-delivered job). */
export async function appliedOperations(trx: Knex.Transaction, operationIds: readonly string[]): Promise<Set<string>> {
  const rows = rawRows(
    operationRow,
    await trx.raw(
      `SELECT operation_id FROM cart_operations WHERE operation_id IN (${marks(operationIds.length)})`,
      operationIds,
    ),
  );
  return new Set(rows.map((r) => r.operation_id));
}

/** Records the applied jobs, so a re-delivery of one changes nothing. */
export async function recordOperations(
  trx: Knex.Transaction,
  applied: ReadonlyArray<{ operationId: string; clientId: string }>,
): Promise<void> {
  await trx.raw(
    `INSERT INTO cart_operations (operation_id, client_id) VALUES ${tuples(applied.length, 2)}`,
    applied.flatMap((a) => [a.operationId, a.clientId]),
  );
}
