import { z } from "zod";
import type { ApiDeps } from "../deps";
import { failure, parseId, parseInput, success, type HttpResult } from "../http/result";
import { infrastructureFailure } from "./errors";

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

interface ProductRow {
  product_id: string;
  product_name: string;
  quantity: number;
  price_cents: number;
}

/** GET /products: the catalog with live stock (`available`: what can still be reserved). */
export async function listProducts(deps: ApiDeps, query: unknown): Promise<HttpResult> {
  const q = parseInput(ListQuery, query ?? {});
  if (!q.ok) return q.result;
  try {
    const rows = (await deps
      .db("product_details")
      .orderBy("product_id")
      .limit(q.data.limit)
      .offset(q.data.offset)
      .select("product_id", "product_name", "quantity", "price_cents")) as ProductRow[];
    const available = await deps.engine.available(rows.map((r) => r.product_id));
    return success({
      products: rows.map((r) => productView(r, available.get(r.product_id))),
      limit: q.data.limit,
      offset: q.data.offset,
    });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** GET /products/:productID */
export async function getProduct(deps: ApiDeps, productID: string): Promise<HttpResult> {
  const id = parseId("productID", productID);
  if (!id.ok) return id.result;
  try {
    const row = (await deps
      .db("product_details")
      .where({ product_id: id.id })
      .first("product_id", "product_name", "quantity", "price_cents")) as ProductRow | undefined;
    if (!row) return failure("NOT_FOUND", `unknown product ${id.id}`);
    const available = await deps.engine.available([row.product_id]);
    return success({ product: productView(row, available.get(row.product_id)) });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

function productView(row: ProductRow, available: number | undefined) {
  return {
    productID: row.product_id,
    productName: row.product_name,
    priceCents: row.price_cents,
    /** Units in the warehouse per MySQL, including sold units not yet flushed. */
    quantity: row.quantity,
    available: available ?? 0,
  };
}
