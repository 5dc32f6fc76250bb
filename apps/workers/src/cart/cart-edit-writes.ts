import { rawRows, type ClearCartResult, type Knex, type SetCartLineResult } from "@oms/shared";
import { z } from "zod";
import { marks, tuples } from "../db/sql";
import type { WriteKind } from "../db/writer";
import { appliedOperations, lineKey, lockCartLines, recordOperations } from "./cart-rows";

export interface SetCartLineOp {
  /** The job id: recorded with the change, so a re-delivered job does not set the line again. */
  operationId: string;
  clientId: string;
  productId: string;
  /** The line's new quantity; 0 removes it. */
  quantity: number;
  /** What can still be reserved of the product, read from the stock cache just before (null for a removal). */
  available: number | null;
  /** The client's checkout lock was held just before: refused, unless this job was applied already. */
  checkoutLocked: boolean;
}

const clientRow = z.object({ client_id: z.string() });

export interface ClearCartOp {
  operationId: string;
  clientId: string;
  checkoutLocked: boolean;
}

/**
 * Sets cart lines (0 removes one); every queued set in one transaction. The lines are
 * locked first, in key order as a checkout's snapshot locks them, so an edit and a
 * snapshot of the same cart serialize; then the clients' pending orders are read. A
 * client with a pending order has a snapshot taken, and a set now would change what
 * that order's commit takes out of the cart, so it is refused. A replayed job answers
 * with the line as it stands and changes nothing, checkout or not: its change was made,
 * and a re-delivery whose first answer was lost must not be told otherwise.
 */
export const setCartLines: WriteKind<SetCartLineOp, SetCartLineResult> = {
  name: "setCartLines",
  async run(trx, ops) {
    const inCart = await lockCartLines(trx, ops);
    const { replayed, checkingOut } = await guards(trx, ops);

    const touched = new Map<string, SetCartLineOp>();
    const applied: SetCartLineOp[] = [];
    const results = ops.map((op): SetCartLineResult => {
      const key = lineKey(op);
      const current = inCart.get(key) ?? 0;
      if (replayed.has(op.operationId)) return { outcome: "set", quantityInCart: current, available: op.available };
      if (op.checkoutLocked || checkingOut.has(op.clientId))
        return { outcome: "checkout_in_progress", clientId: op.clientId };
      if (op.available !== null && op.quantity > op.available)
        return {
          outcome: "insufficient_stock",
          productId: op.productId,
          available: op.available,
          requested: op.quantity,
        };
      replayed.add(op.operationId);
      inCart.set(key, op.quantity);
      touched.set(key, op);
      applied.push(op);
      return { outcome: "set", quantityInCart: op.quantity, available: op.available };
    });
    if (applied.length === 0) return results;
    await recordOperations(trx, applied);
    // Each touched line's last value in this batch: removed lines go, the others are upserted.
    const finals = [...touched.entries()].map(([key, op]) => ({ ...op, quantity: inCart.get(key) ?? 0 }));
    const removed = finals.filter((f) => f.quantity === 0);
    const kept = finals.filter((f) => f.quantity > 0);
    if (removed.length > 0)
      await trx.raw(
        `DELETE FROM client_cart WHERE ${removed.map(() => "(client_id = ? AND product_id = ?)").join(" OR ")}`,
        removed.flatMap((r) => [r.clientId, r.productId]),
      );
    if (kept.length > 0)
      await trx.raw(
        `INSERT INTO client_cart (client_id, product_id, quantity) VALUES ${tuples(kept.length, 3)} ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)`,
        kept.flatMap((k) => [k.clientId, k.productId, k.quantity]),
      );
    return results;
  },
};

/** Empties carts, under the same lock order, pending-order check and replay record as setCartLines. */
export const clearCarts: WriteKind<ClearCartOp, ClearCartResult> = {
  name: "clearCarts",
  async run(trx, ops) {
    const clients = [...new Set(ops.map((o) => o.clientId))];
    const held = rawRows(
      clientRow,
      await trx.raw(
        `SELECT client_id FROM client_cart WHERE client_id IN (${marks(clients.length)}) ORDER BY client_id, product_id FOR UPDATE`,
        clients,
      ),
    );
    const lineCount = new Map<string, number>();
    for (const r of held) lineCount.set(r.client_id, (lineCount.get(r.client_id) ?? 0) + 1);
    const { replayed, checkingOut } = await guards(trx, ops);

    const applied: ClearCartOp[] = [];
    const results = ops.map((op): ClearCartResult => {
      // A replay removed its lines the first time; whatever the cart holds now came after.
      if (replayed.has(op.operationId)) return { outcome: "cleared", removedLines: 0 };
      if (op.checkoutLocked || checkingOut.has(op.clientId))
        return { outcome: "checkout_in_progress", clientId: op.clientId };
      replayed.add(op.operationId);
      applied.push(op);
      const removedLines = lineCount.get(op.clientId) ?? 0;
      lineCount.set(op.clientId, 0);
      return { outcome: "cleared", removedLines };
    });
    if (applied.length === 0) return results;
    await recordOperations(trx, applied);
    const emptied = [...new Set(applied.map((a) => a.clientId))];
    await trx.raw(`DELETE FROM client_cart WHERE client_id IN (${marks(emptied.length)})`, emptied);
    return results;
  },
};

/**
 * What refuses an edit, read after the cart rows are locked: job ids already applied
 * (a re-delivery), and clients with a pending order. READ COMMITTED reads the newest
 * commit, so a snapshot that held these rows a moment ago is seen as its pending order.
 */
async function guards(
  trx: Knex.Transaction,
  ops: ReadonlyArray<{ operationId: string; clientId: string }>,
): Promise<{ replayed: Set<string>; checkingOut: Set<string> }> {
  const operationIds = [...new Set(ops.map((o) => o.operationId))];
  const clients = [...new Set(ops.map((o) => o.clientId))];
  const replayed = await appliedOperations(trx, operationIds);
  const pending = rawRows(
    clientRow,
    await trx.raw(
      `SELECT DISTINCT client_id FROM orders WHERE client_id IN (${marks(clients.length)}) AND state = 'pending'`,
      clients,
    ),
  );
  return { replayed, checkingOut: new Set(pending.map((r) => r.client_id)) };
}
