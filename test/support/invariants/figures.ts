/**
 * The figures the invariants are checked against, read straight from MySQL and Redis:
 * per product (stock, units sold and returned, the cached and held levels), the orders,
 * the payments and the decrements not yet flushed. Rows are parsed, not cast: a column
 * renamed by a migration fails here loudly instead of reading as undefined.
 */
import { z } from "zod";
import { PAID_STATES, type Keyspace, type Knex, type RedisClient } from "@oms/shared";

/** Where the state lives: the MySQL database and the Redis (standalone or Cluster) of one system. */
export interface StateSource {
  db: Knex;
  redis: RedisClient;
  keys: Keyspace;
}

/** What a product started with: the caller's bookkeeping, not the system's. */
export interface ProductBook {
  productId: string;
  initial: number;
  /** Units added by restocks the API confirmed. */
  restocked: number;
}

export interface ProductFigures extends ProductBook {
  /** product_details.quantity (NaN when the row is missing). */
  mysql: number;
  /** Units in order_items of orders whose checkout completed (cancelled and refunded ones too). */
  sold: number;
  /** Units refunds returned to stock. */
  returned: number;
  /** The cached available level (null when the key is absent). */
  redis: number | null;
  /** Units still counted as held in the product's shard. */
  held: number;
}

const count = z.coerce.number();
const QuantityRow = z.object({ product_id: z.string(), quantity: count });
const SoldRow = z.object({ product_id: z.string(), sold: count });

export async function readProductFigures(
  { db, redis, keys }: StateSource,
  products: ProductBook[],
  returned: Map<string, number>,
): Promise<ProductFigures[]> {
  const ids = products.map((p) => p.productId);
  const quantities = new Map(
    z
      .array(QuantityRow)
      .parse(await db("product_details").whereIn("product_id", ids).select("product_id", "quantity"))
      .map((r) => [r.product_id, r.quantity]),
  );
  const soldRows = z
    .array(SoldRow)
    .parse(
      await db("order_items as i")
        .join("orders as o", "o.order_id", "i.order_id")
        .whereIn("o.state", PAID_STATES)
        .whereIn("i.product_id", ids)
        .groupBy("i.product_id")
        .select("i.product_id")
        .sum({ sold: "i.quantity" }),
    );
  const sold = new Map(soldRows.map((r) => [r.product_id, r.sold]));
  // One read per key: on a Cluster a product's level and its held count live in its shard's slot.
  const cached = await Promise.all(ids.map((id) => redis.get(keys.stock(id))));
  const held = await Promise.all(ids.map((id) => redis.hget(keys.held(keys.shardOf(id)), id)));
  return products.map((p, i) => {
    const raw = cached[i];
    return {
      ...p,
      mysql: quantities.get(p.productId) ?? Number.NaN,
      sold: sold.get(p.productId) ?? 0,
      returned: returned.get(p.productId) ?? 0,
      redis: raw === null || raw === undefined ? null : Number(raw),
      held: Number(held[i] ?? 0),
    };
  });
}

const OrderRow = z.object({
  order_id: z.string(),
  client_id: z.string(),
  // Checked against the known states by the checks, so an unknown one is reported, not thrown.
  state: z.string(),
  total_cents: count,
  payment_ref: z.string().nullable(),
  failure_code: z.string().nullable(),
});
export type OrderRow = z.infer<typeof OrderRow>;

/** Orders with a line of these products, or every order when `productIds` is null. */
export async function readOrders(db: Knex, productIds: string[] | null): Promise<OrderRow[]> {
  if (productIds?.length === 0) return [];
  const query = db("orders").select("order_id", "client_id", "state", "total_cents", "payment_ref", "failure_code");
  if (productIds) query.whereIn("order_id", db("order_items").whereIn("product_id", productIds).distinct("order_id"));
  return z.array(OrderRow).parse(await query);
}

/** Every order id MySQL knows (a payment's order may lie outside the orders examined). */
export async function readOrderIds(db: Knex): Promise<Set<string>> {
  return new Set(z.array(z.string()).parse(await db("orders").pluck("order_id")));
}

const PaymentRow = z.object({
  idempotency_key: z.string(),
  order_id: z.string(),
  status: z.string(),
  amount_cents: count,
  provider_ref: z.string().nullable(),
});
export type PaymentRow = z.infer<typeof PaymentRow>;

export async function readPayments(db: Knex): Promise<PaymentRow[]> {
  return z
    .array(PaymentRow)
    .parse(await db("payments").select("idempotency_key", "order_id", "status", "amount_cents", "provider_ref"));
}

const UnflushedRow = z.object({ reserve_id: z.string(), product_id: z.string(), quantity: count });
export type UnflushedRow = z.infer<typeof UnflushedRow>;

/** Committed decrements not yet applied to product_details (a system at rest has none). */
export async function readUnflushed(db: Knex): Promise<UnflushedRow[]> {
  return z.array(UnflushedRow).parse(await db("reserve_purchase").select("reserve_id", "product_id", "quantity"));
}
