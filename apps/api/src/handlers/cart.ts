import { z } from "zod";
import { AddToCartRequest, CartResult, parseRows, type AddToCartJob } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { parseId, parseInput, success, type HttpResult } from "../http/result";
import { infrastructureFailure } from "./errors";
import { notEnoughStock, runCartJob, unknownProduct } from "./cart-job";

export interface RequestContext {
  requestId: string;
}

/** POST /addToCart: validated here, applied by the cart worker, answered when it is done. */
export async function addToCart(deps: ApiDeps, body: unknown, ctx: RequestContext): Promise<HttpResult> {
  const input = parseInput(AddToCartRequest, body);
  if (!input.ok) return input.result;
  const { clientID, productID, quantity } = input.data;
  const job: AddToCartJob = {
    type: "addToCart",
    replyTo: deps.replyTo,
    clientId: clientID,
    productId: productID,
    quantity,
    requestId: ctx.requestId,
  };
  const done = await runCartJob(deps, job, "the cart service did not answer in time; the item may still be added");
  return done.ok ? cartAnswer(CartResult.parse(done.value)) : done.result;
}

function cartAnswer(result: CartResult): HttpResult {
  switch (result.outcome) {
    case "added":
      return success({ quantityInCart: result.quantityInCart, available: result.available });
    case "unknown_product":
      return unknownProduct(result.productId);
    case "insufficient_stock":
      return notEnoughStock(result, "the cart");
  }
}

const CartLineRow = z.object({
  product_id: z.string(),
  product_name: z.string(),
  quantity: z.number(),
  price_cents: z.number(),
});

/** GET /cart/:clientID */
export async function getCart(deps: ApiDeps, clientID: string): Promise<HttpResult> {
  const id = parseId("clientID", clientID);
  if (!id.ok) return id.result;
  try {
    const lines = deps
      .db("client_cart as c")
      .join("product_details as p", "p.product_id", "c.product_id")
      .where("c.client_id", id.id)
      .orderBy("c.product_id")
      .select("c.product_id", "p.product_name", "c.quantity", "p.price_cents");
    const rows = parseRows(CartLineRow, await lines);
    const available = await deps.engine.available(rows.map((r) => r.product_id));
    const items = rows.map((r) => ({
      productID: r.product_id,
      productName: r.product_name,
      quantity: r.quantity,
      unitPriceCents: r.price_cents,
      available: available.get(r.product_id) ?? 0,
    }));
    return success({
      clientID: id.id,
      items,
      totalCents: items.reduce((s, i) => s + i.quantity * i.unitPriceCents, 0),
    });
  } catch (err) {
    return infrastructureFailure(err);
  }
}
