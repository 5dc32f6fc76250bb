import { z } from "zod";
import { Id, PageQuery, parseRow, parseRows } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { failure, parseId, parseInput, success, type HttpResult } from "../http/result";
import { infrastructureFailure } from "./errors";
import { cursorOf, pageOf } from "./paging";

/** Products page by id along the primary key; the cursor is the last id shown. */
export const ProductsQuery = PageQuery.extend({ cursor: cursorOf("products", z.tuple([Id])) });

const ProductRow = z.object({
  product_id: z.string(),
  product_name: z.string(),
  quantity: z.number(),
  price_cents: z.number(),
});
type ProductRow = z.infer<typeof ProductRow>;

/** GET /products: the catalog with live stock (`available`: what can still be reserved), a page at a time by id. */
export async function listProducts(deps: ApiDeps, query: unknown): Promise<HttpResult> {
  const q = parseInput(ProductsQuery, query ?? {});
  if (!q.ok) return q.result;
  try {
    const select = deps.db("product_details");
    if (q.data.cursor) void select.where("product_id", ">", q.data.cursor[0]);
    const rows = parseRows(
      ProductRow,
      await select
        .orderBy("product_id")
        .limit(q.data.limit + 1)
        .select("product_id", "product_name", "quantity", "price_cents"),
    );
    const page = pageOf(rows, q.data.limit, "products", (r) => [r.product_id]);
    const available = await deps.engine.available(page.rows.map((r) => r.product_id));
    return success({
      products: page.rows.map((r) => productView(r, available.get(r.product_id))),
      limit: q.data.limit,
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
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
    const row = parseRow(
      ProductRow,
      await deps
        .db("product_details")
        .where({ product_id: id.id })
        .first("product_id", "product_name", "quantity", "price_cents"),
    );
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
