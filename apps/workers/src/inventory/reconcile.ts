import type { Counter } from "prom-client";
import type { InventoryEngine } from "@oms/inventory";
import { parseRows, type Knex, type Logger } from "@oms/shared";
import { z } from "zod";

const ProductIdRow = z.object({ product_id: z.string() });

export interface ReconcileReport {
  checked: number;
  drifted: number;
  repaired: number;
  repairs: Array<{ productId: string; drift: number }>;
}

/**
 * Walks the catalog, 500 products at a time (one MySQL query each), and compares each
 * cached level with what MySQL implies
 * (quantity - pending reserve_purchase = available + held), repairing confirmed drift
 * with a log line and a metric per repair.
 */
export async function reconcileStock(
  db: Knex,
  engine: InventoryEngine,
  logger: Logger,
  repairsMetric?: Counter<"product">,
  settleMs = 500,
): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, drifted: 0, repaired: 0, repairs: [] };
  let after = "";
  for (;;) {
    const rows = parseRows(
      ProductIdRow,
      await db("product_details").where("product_id", ">", after).orderBy("product_id").limit(500).select("product_id"),
    );
    const results = await engine.reconcileMany(
      rows.map((r) => r.product_id),
      settleMs,
    );
    for (const result of results) {
      const { productId } = result;
      if (result.drift === null) continue;
      report.checked++;
      if (result.drift !== 0) report.drifted++;
      if (result.repaired) {
        report.repaired++;
        report.repairs.push({ productId, drift: result.drift });
        repairsMetric?.inc({ product: productId });
        logger.warn({ productId, drift: result.drift }, "stock cache drift repaired");
      }
    }
    if (rows.length < 500) return report;
    after = rows[rows.length - 1]?.product_id ?? after;
  }
}
