import type { Redis } from "ioredis";
import { withTransaction, type AddToCartJob, type CartResult, type Keyspace, type Knex } from "@oms/shared";
import type { InventoryEngine } from "@oms/inventory";

export interface CartDeps {
  db: Knex;
  engine: InventoryEngine;
  redis: Redis;
  keys: Keyspace;
}

const MIRROR_TTL_S = 86_400;

/**
 * Adds to what the cart holds, as the original did, but only when the cart's total
 * for the product fits the available stock. The job id is recorded in the same
 * transaction, so a re-delivered job does not add twice.
 */
export async function addToCart(job: AddToCartJob, operationId: string, deps: CartDeps): Promise<CartResult> {
  const { db, engine } = deps;
  const available = (await engine.available([job.productId])).get(job.productId);
  if (available === undefined) return { outcome: "unknown_product", productId: job.productId };

  // READ COMMITTED: locking a cart row that does not exist yet takes no gap lock, which
  // under REPEATABLE READ deadlocked most concurrent first adds (bench/diagnose.ts).
  const result = await withTransaction(
    db,
    async (trx): Promise<CartResult> => {
      const cartRow = (await trx("client_cart")
        .where({ client_id: job.clientId, product_id: job.productId })
        .forUpdate()
        .first("quantity")) as { quantity: number } | undefined;
      const inCart = cartRow?.quantity ?? 0;

      const replay = await trx("cart_operations").where({ operation_id: operationId }).first("operation_id");
      if (replay) return { outcome: "added", quantityInCart: inCart, available };

      const wanted = inCart + job.quantity;
      if (wanted > available) {
        return { outcome: "insufficient_stock", productId: job.productId, available, requested: wanted };
      }
      await trx("cart_operations").insert({ operation_id: operationId, client_id: job.clientId });
      await trx.raw(
        "INSERT INTO client_cart (client_id, product_id, quantity) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity)",
        [job.clientId, job.productId, job.quantity],
      );
      return { outcome: "added", quantityInCart: wanted, available };
    },
    { isolationLevel: "read committed" },
  );
  if (result.outcome === "added") {
    // The copy the API reads to turn away sold-out checkouts; MySQL stays the cart of record.
    const mirror = deps.keys.cartMirror(job.clientId);
    await deps.redis.multi().hset(mirror, job.productId, result.quantityInCart).expire(mirror, MIRROR_TTL_S).exec();
  }
  return result;
}
