import type { RedisClient } from "@oms/shared";
import type { AddToCartJob, CartResult, Keyspace } from "@oms/shared";
import type { InventoryEngine } from "@oms/inventory";
import type { GroupCommitWriter } from "../db/writer";
import { addToCarts } from "./cart-writes";

export interface CartDeps {
  writer: GroupCommitWriter;
  engine: InventoryEngine;
  redis: RedisClient;
  keys: Keyspace;
}

/** The API's copy of a cart lives a day after its last change. */
export const MIRROR_TTL_S = 86_400;

/**
 * Adds to what the cart holds, as the original did, but only when the cart's total
 * for the product fits the available stock. The job id is recorded in the same
 * transaction, so a re-delivered job does not add twice; the write goes with the other
 * adds queued at the same time (group commit).
 */
export async function addToCart(job: AddToCartJob, operationId: string, deps: CartDeps): Promise<CartResult> {
  const { engine } = deps;
  const available = (await engine.available([job.productId])).get(job.productId);
  if (available === undefined) return { outcome: "unknown_product", productId: job.productId };

  const result = await deps.writer.submit(addToCarts, {
    operationId,
    clientId: job.clientId,
    productId: job.productId,
    quantity: job.quantity,
    available,
  });
  if (result.outcome === "added") {
    // The copy the API reads to turn away sold-out checkouts; MySQL stays the cart of record.
    const mirror = deps.keys.cartMirror(job.clientId);
    // Not MULTI: see pushReply (push-reply.ts); auto-pipelining sends both in one write.
    await Promise.all([
      deps.redis.hset(mirror, job.productId, result.quantityInCart),
      deps.redis.expire(mirror, MIRROR_TTL_S),
    ]);
  }
  return result;
}
