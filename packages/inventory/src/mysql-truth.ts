import type { Knex } from "@oms/shared";
import type { TruthSource } from "./types";

/**
 * What can still be sold according to MySQL: quantity minus committed decrements not
 * yet flushed. One statement, so it reads one consistent snapshot.
 */
export function mysqlTruth(db: Knex): TruthSource {
  const levels = async (productIds: string[]): Promise<Map<string, number>> => {
    const rows = (await db("product_details as p")
      .leftJoin(
        db("reserve_purchase")
          .select("product_id")
          .sum({ pending: "quantity" })
          .whereIn("product_id", productIds)
          .groupBy("product_id")
          .as("r"),
        "r.product_id",
        "p.product_id",
      )
      .whereIn("p.product_id", productIds)
      .select("p.product_id", "p.quantity", "r.pending")) as Array<{
      product_id: string;
      quantity: number;
      pending: string | number | null;
    }>;
    return new Map(rows.map((r) => [r.product_id, r.quantity - Number(r.pending ?? 0)]));
  };
  return Object.assign(levels, {
    // Pending and failed orders sold nothing; every later state (completed, refunded,
    // shipped...) counted its sale, and a return went back through a stock change.
    async soldAmong(orderIds: string[]): Promise<Set<string>> {
      if (orderIds.length === 0) return new Set();
      const rows: Array<Record<string, unknown>> = await db("orders")
        .whereIn("order_id", orderIds)
        .whereNotIn("state", ["pending", "failed"])
        .select("order_id");
      return new Set(rows.flatMap((r) => (typeof r.order_id === "string" ? [r.order_id] : [])));
    },
  });
}
