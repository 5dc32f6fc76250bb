import { RestockRequest, UpsertProductRequest, withTransaction, type Knex } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { failure, parseId, parseInput, success, type HttpResult } from "../http/result";
import { infrastructureFailure } from "../handlers/errors";

type LevelChange = { ok: true; before: number; after: number } | { ok: false; result: HttpResult };

/**
 * Sets a product's warehouse level in MySQL, then moves the cached level by the same
 * amount. A level below what committed orders still owe the warehouse (pending
 * reserve_purchase) is refused.
 */
async function changeLevel(
  trx: Knex.Transaction,
  productId: string,
  next: (current: number) => number,
): Promise<LevelChange> {
  const row = (await trx("product_details").where({ product_id: productId }).forUpdate().first("quantity")) as
    { quantity: number } | undefined;
  if (!row) return { ok: false, result: failure(404, `unknown product ${productId}`) };
  const after = next(row.quantity);
  const pending = (await trx("reserve_purchase")
    .where({ product_id: productId })
    .sum({ units: "quantity" })
    .first()) as { units: string | number | null };
  const owed = Number(pending.units ?? 0);
  if (after < owed)
    return { ok: false, result: failure(409, `quantity ${after} is below the ${owed} units sold and not yet flushed`) };
  await trx("product_details").where({ product_id: productId }).update({ quantity: after });
  return { ok: true, before: row.quantity, after };
}

/** POST /admin/products: create a product or update its name, price and level. */
export async function upsertProduct(deps: ApiDeps, body: unknown): Promise<HttpResult> {
  const input = parseInput(UpsertProductRequest, body);
  if (!input.ok) return input.result;
  const { productID, productName, priceCents, quantity } = input.data;
  try {
    const outcome = await withTransaction(deps.db, async (trx) => {
      const inserted = (await trx.raw(
        "INSERT IGNORE INTO product_details (product_id, product_name, quantity, price_cents) VALUES (?, ?, ?, ?)",
        [productID, productName, quantity, priceCents],
      )) as [{ affectedRows: number }];
      if (inserted[0].affectedRows === 1) return { created: true as const, delta: 0 };
      await trx("product_details")
        .where({ product_id: productID })
        .update({ product_name: productName, price_cents: priceCents });
      const level = await changeLevel(trx, productID, () => quantity);
      if (!level.ok) return level;
      return { created: false as const, delta: level.after - level.before };
    });
    if ("result" in outcome) return outcome.result;
    if (outcome.delta !== 0) await deps.engine.applyStockChange(productID, outcome.delta);
    const available = (await deps.engine.available([productID])).get(productID) ?? 0;
    return success(
      { productID, productName, priceCents, quantity, available, created: outcome.created },
      outcome.created ? 201 : 200,
    );
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** POST /admin/products/:productID/restock `{add}` or `{set}`. */
export async function restockProduct(deps: ApiDeps, productID: string, body: unknown): Promise<HttpResult> {
  const id = parseId("productID", productID);
  if (!id.ok) return id.result;
  const input = parseInput(RestockRequest, body);
  if (!input.ok) return input.result;
  const { add, set } = input.data;
  try {
    const level = await withTransaction(deps.db, (trx) =>
      changeLevel(trx, id.id, (current) => (add !== undefined ? current + add : (set ?? current))),
    );
    if (!level.ok) return level.result;
    const delta = level.after - level.before;
    if (delta !== 0) await deps.engine.applyStockChange(id.id, delta);
    const available = (await deps.engine.available([id.id])).get(id.id) ?? 0;
    return success({ productID: id.id, quantity: level.after, change: delta, available });
  } catch (err) {
    return infrastructureFailure(err);
  }
}
