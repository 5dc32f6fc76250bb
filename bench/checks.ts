/**
 * Correctness after a run, at quiescence: the shared checker's invariants
 * (test/support/invariants/system.ts), and what only the benchmark knows: the HTTP answers it counted.
 */
import { waitForQuiescence } from "../test/support/invariants/quiescence";
import { checkSystem } from "../test/support/invariants/system";
import { cachesStock } from "./system";
import type { CorrectnessChecks, DesignId } from "./types";
import { countRows, type World } from "./world";
import type { ScenarioOutput, Seeded } from "./scenarios";

/** `checkoutAnswers`: the HTTP answers of the checkout phases, 200 (completed) and 202 (pending). */
type CheckInput = Seeded &
  Pick<ScenarioOutput, "checkoutAnswers" | "expectedCartRows"> & { design: DesignId; timeoutMs: number };

export async function checkCorrectness(world: World, input: CheckInput): Promise<CorrectnessChecks> {
  const started = performance.now();
  const hasCache = cachesStock(input.design);
  const initial = [...input.initialStock].map(([productId, n]) => ({ productId, initial: n, restocked: 0 }));
  const { lastFlushError } = await waitForQuiescence(world, [...input.initialStock.keys()], input);
  const options = { allowUncached: true, withoutCache: !hasCache, lastFlushError, onlyTheseProducts: true };
  const report = await checkSystem(world, initial, options);
  const violations = Object.values(report.checks)
    .flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`))
    .slice(0, 20);
  const { completedOrders, failedOrders } = report.figures;
  if (input.expectedCartRows !== undefined) {
    const rows = await countRows(world.db("client_cart").where("product_id", "like", `${input.productPrefix}%`));
    const { min, max } = input.expectedCartRows;
    if (rows < min || rows > max)
      violations.push(`client_cart holds ${rows} rows; the answers allow ${min} (200) to ${max} (200 + 504)`);
  }
  const { completed, pending } = input.checkoutAnswers;
  const answersAgree =
    input.design === "noop" || (completed <= completedOrders && completedOrders <= completed + pending);
  if (!answersAgree)
    violations.push(`HTTP said ${completed} completed (+${pending} pending), MySQL has ${completedOrders} completed`);
  const products = report.products;
  return {
    // Refunds return units to stock: they can be sold again.
    oversoldUnits: products.reduce((s, p) => s + Math.max(0, p.sold - p.initial - p.restocked - p.returned), 0),
    conservation: products.every((p) => p.mysql + p.sold === p.initial + p.restocked + p.returned),
    redisMatchesMysql: hasCache ? products.every((p) => p.redis === null || p.redis === p.mysql) : null,
    completedOrders,
    failedOrders,
    answersAgree,
    quiescentAfterSeconds: Math.round((performance.now() - started) / 100) / 10,
    violations,
    ok: violations.length === 0,
  };
}
