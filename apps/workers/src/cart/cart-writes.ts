import type { CartResult } from "@oms/shared";
import { marks, rowsOf, tuples } from "../db/sql";
import type { WriteKind } from "../db/writer";

export interface AddToCartOp {
  /** The job id: recorded with the change, so a re-delivered job does not add twice. */
  operationId: string;
  clientId: string;
  productId: string;
  quantity: number;
  /** What can still be reserved of the product, read from the stock cache just before. */
  available: number;
}

/**
 * Adds to what carts hold, as the original did, but only when a cart's total for the
 * product fits the available stock; every queued add in one transaction. The cart rows
 * are locked first (READ COMMITTED: a row that does not exist yet takes no gap lock), so
 * adds of the same line in other processes wait; adds of the same line within a batch
 * are applied in the order they came.
 */
export const addToCarts: WriteKind<AddToCartOp, CartResult> = {
  name: "addToCarts",
  async run(trx, ops) {
    const lines = [...new Map(ops.map((o) => [lineKey(o), o])).values()];
    const held = rowsOf<{ client_id: string; product_id: string; quantity: number }>(
      await trx.raw(
        `SELECT client_id, product_id, quantity FROM client_cart WHERE ${lines.map(() => "(client_id = ? AND product_id = ?)").join(" OR ")} FOR UPDATE`,
        lines.flatMap((l) => [l.clientId, l.productId]),
      ),
    );
    const inCart = new Map(held.map((r) => [lineKey({ clientId: r.client_id, productId: r.product_id }), r.quantity]));
    const operationIds = [...new Set(ops.map((o) => o.operationId))];
    const replayed = new Set(
      rowsOf<{ operation_id: string }>(
        await trx.raw(
          `SELECT operation_id FROM cart_operations WHERE operation_id IN (${marks(operationIds.length)})`,
          operationIds,
        ),
      ).map((r) => r.operation_id),
    );

    const applied: AddToCartOp[] = [];
    const results = ops.map((op): CartResult => {
      const key = lineKey(op);
      const current = inCart.get(key) ?? 0;
      if (replayed.has(op.operationId)) return { outcome: "added", quantityInCart: current, available: op.available };
      const wanted = current + op.quantity;
      if (wanted > op.available)
        return { outcome: "insufficient_stock", productId: op.productId, available: op.available, requested: wanted };
      replayed.add(op.operationId);
      inCart.set(key, wanted);
      applied.push(op);
      return { outcome: "added", quantityInCart: wanted, available: op.available };
    });
    if (applied.length > 0) {
      await trx.raw(
        `INSERT INTO cart_operations (operation_id, client_id) VALUES ${tuples(applied.length, 2)}`,
        applied.flatMap((a) => [a.operationId, a.clientId]),
      );
      await trx.raw(
        `INSERT INTO client_cart (client_id, product_id, quantity) VALUES ${tuples(applied.length, 3)} ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity)`,
        applied.flatMap((a) => [a.clientId, a.productId, a.quantity]),
      );
    }
    return results;
  },
};

function lineKey(line: { clientId: string; productId: string }): string {
  return JSON.stringify([line.clientId, line.productId]);
}
