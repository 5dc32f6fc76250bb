import type { CartResult } from "@oms/shared";
import { tuples } from "../db/sql";
import type { WriteKind } from "../db/writer";
import { appliedOperations, lineKey, lockCartLines, recordOperations } from "./cart-rows";

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
 * are locked first (./cart-rows.ts), so adds of the same line in other processes wait;
 * adds of the same line within a batch are applied in the order they came.
 */
export const addToCarts: WriteKind<AddToCartOp, CartResult> = {
  name: "addToCarts",
  async run(trx, ops) {
    const inCart = await lockCartLines(trx, ops);
    const replayed = await appliedOperations(trx, [...new Set(ops.map((o) => o.operationId))]);

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
      await recordOperations(trx, applied);
      await trx.raw(
        `INSERT INTO client_cart (client_id, product_id, quantity) VALUES ${tuples(applied.length, 3)} ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity)`,
        applied.flatMap((a) => [a.clientId, a.productId, a.quantity]),
      );
    }
    return results;
  },
};
