import {
  CART_COPY_EDITED,
  type ClearCartJob,
  type ClearCartResult,
  type SetCartLineJob,
  type SetCartLineResult,
} from "@oms/shared";
import { MIRROR_TTL_S, type CartDeps } from "./add-to-cart";
import { clearCarts, setCartLines } from "./cart-edit-writes";

/**
 * Whether the client's checkout lock is held. Checked before the write: a checkout whose
 * lock is taken but whose snapshot is not yet written (its job still queued) has no
 * pending order for the write to see, and an edit applied then would be in its order.
 * An edit that passed this check began before that checkout did, so the snapshot may
 * take it; one that commits after the snapshot meets the pending order and is refused.
 * The write decides (after its replay check), so a re-delivered job that was applied
 * before the checkout began is answered as applied.
 */
async function checkoutLocked(deps: CartDeps, clientId: string): Promise<boolean> {
  return (await deps.redis.exists(deps.keys.checkoutLock(clientId))) === 1;
}

/** Sets a cart line to a quantity (0 removes it), within the available stock, as add checks it. */
export async function setCartLine(
  job: SetCartLineJob,
  operationId: string,
  deps: CartDeps,
): Promise<SetCartLineResult> {
  let available: number | null = null;
  if (job.quantity > 0) {
    const level = (await deps.engine.available([job.productId])).get(job.productId);
    if (level === undefined) return { outcome: "unknown_product", productId: job.productId };
    available = level;
  }
  const result = await deps.writer.submit(setCartLines, {
    operationId,
    clientId: job.clientId,
    productId: job.productId,
    quantity: job.quantity,
    available,
    checkoutLocked: await checkoutLocked(deps, job.clientId),
  });
  if (result.outcome === "set") {
    // The copy follows MySQL, marked edited first: it can lag a concurrent write of the
    // same cart in another process, and the mark makes the API check a refusal in MySQL.
    const mirror = deps.keys.cartMirror(job.clientId);
    await Promise.all([
      deps.redis.hset(mirror, CART_COPY_EDITED, 1),
      result.quantityInCart > 0
        ? deps.redis.hset(mirror, job.productId, result.quantityInCart)
        : deps.redis.hdel(mirror, job.productId),
      deps.redis.expire(mirror, MIRROR_TTL_S),
    ]);
  }
  return result;
}

/** Empties the client's cart. */
export async function clearCart(job: ClearCartJob, operationId: string, deps: CartDeps): Promise<ClearCartResult> {
  const result = await deps.writer.submit(clearCarts, {
    operationId,
    clientId: job.clientId,
    checkoutLocked: await checkoutLocked(deps, job.clientId),
  });
  if (result.outcome === "cleared") {
    // Emptied but still marked edited: an add's copy written late must not read as a trusted line.
    const mirror = deps.keys.cartMirror(job.clientId);
    await Promise.all([
      deps.redis.del(mirror),
      deps.redis.hset(mirror, CART_COPY_EDITED, 1),
      deps.redis.expire(mirror, MIRROR_TTL_S),
    ]);
  }
  return result;
}
