/**
 * The cart worker's handler called directly with a re-delivered job: the same operation
 * id adds once, even when delivered twice at the same time, and the replay answers with
 * the cart as it is; an unknown product stores nothing.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import type { AddToCartJob } from "@oms/shared";
import { addToCart, type CartDeps } from "../../workers/src/cart/add-to-cart";
import { GroupCommitWriter } from "../../workers/src/db/writer";
import { cartRows, operationCount, product, uid } from "./support/add-to-cart-calls";
import { env, setUpAddToCart } from "./support/add-to-cart-system";

setUpAddToCart();
// ---------------------------------------------------------------- replay

describe("cart worker handler: a re-delivered job adds once", () => {
  let writer: GroupCommitWriter | undefined;
  const cartDeps = (): CartDeps => ({
    writer: (writer ??= new GroupCommitWriter(env.db, { connections: 2, maxBatch: 50 })),
    engine: new InventoryEngine(env.redis, env.keys, mysqlTruth(env.db)),
    redis: env.redis,
    keys: env.keys,
  });
  const job = (clientId: string, productId: string, quantity: number): AddToCartJob => ({
    type: "addToCart",
    clientId,
    productId,
    quantity,
  });

  it("applies the same operation id once and answers the replay with the cart as it is", async () => {
    const productID = await product(10);
    const clientID = uid("c");
    const operationId = randomUUID();
    const deps = cartDeps();

    const first = await addToCart(job(clientID, productID, 2), operationId, deps);
    const replay = await addToCart(job(clientID, productID, 2), operationId, deps);

    expect(first).toEqual({ outcome: "added", quantityInCart: 2, available: 10 });
    expect(replay).toEqual({ outcome: "added", quantityInCart: 2, available: 10 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 2 }]);
    expect(await operationCount(clientID)).toBe(1);

    // A different operation is a new add.
    const next = await addToCart(job(clientID, productID, 2), randomUUID(), deps);
    expect(next).toEqual({ outcome: "added", quantityInCart: 4, available: 10 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 4 }]);
  });

  it("adds once when the same operation is delivered twice at the same time", async () => {
    const productID = await product(10);
    const clientID = uid("c");
    const operationId = randomUUID();
    const deps = cartDeps();

    const results = await Promise.allSettled([
      addToCart(job(clientID, productID, 3), operationId, deps),
      addToCart(job(clientID, productID, 3), operationId, deps),
    ]);

    expect(results.some((r) => r.status === "fulfilled")).toBe(true);
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 3 }]);
    expect(await operationCount(clientID)).toBe(1);
    // Whatever the losing delivery did, a further replay still adds nothing.
    expect(await addToCart(job(clientID, productID, 3), operationId, deps)).toEqual({
      outcome: "added",
      quantityInCart: 3,
      available: 10,
    });
  });

  it("answers unknown_product for a product MySQL does not know, storing nothing", async () => {
    const clientID = uid("c");
    const productId = uid("missing");
    const result = await addToCart(job(clientID, productId, 1), randomUUID(), cartDeps());
    expect(result).toEqual({ outcome: "unknown_product", productId });
    expect(await operationCount(clientID)).toBe(0);
  });
});
