/**
 * The test suite's use of the checker: wait for quiescence, check every invariant over a
 * test's own products and orders, and fail with everything that is off at once, not just
 * the first thing.
 */
import { expect } from "vitest";
import type { CheckResult } from "./check";
import { checkSystem } from "./system";
import { waitForQuiescence, type QuiescenceOptions, type QuietEnv } from "./quiescence";
import type { CacheOptions } from "./stock-checks";

/** A product's figures as the tests compare them (no restocks: a test's initial stock is its own). */
export interface ProductFigures {
  productId: string;
  initial: number;
  /** product_details.quantity after the flush. */
  mysql: number;
  /** Units in order_items of orders whose checkout completed (cancelled and refunded ones too). */
  sold: number;
  /** Units refunds returned to stock. */
  returned: number;
  /** The cached available level (null when the key is absent). */
  redis: number | null;
}

export interface ConservationReport {
  products: ProductFigures[];
  completedOrders: number;
  failedOrders: number;
  /** Every named check with what it counted; `violations` lists theirs together. */
  checks: CheckResult[];
  violations: string[];
}

export interface ConservationOptions extends QuiescenceOptions, CacheOptions {}

/**
 * The figures and every violated invariant (system.ts), after waiting for quiescence,
 * over the orders and holds of these products: stock conserved and never oversold, the
 * cache equal to MySQL with nothing held, nothing unflushed, no order pending, exactly
 * one charge of its total per paid order, never refunded twice.
 */
export async function conservationReport(
  env: QuietEnv,
  initialStock: Map<string, number>,
  options: ConservationOptions = {},
): Promise<ConservationReport> {
  const products = [...initialStock].map(([productId, initial]) => ({ productId, initial, restocked: 0 }));
  const { lastFlushError } = await waitForQuiescence(env, [...initialStock.keys()], options);
  const system = await checkSystem(env, products, { ...options, lastFlushError, onlyTheseProducts: true });
  const checks = Object.values(system.checks).map((c) => c.result());
  return {
    products: system.products.map(({ productId, initial, mysql, sold, returned, redis }) => ({
      productId,
      initial,
      mysql,
      sold,
      returned,
      redis,
    })),
    completedOrders: system.figures.completedOrders,
    failedOrders: system.figures.failedOrders,
    checks,
    violations: checks.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`)),
  };
}

/** Asserts every invariant of `conservationReport`; returns the report for further checks. */
export async function assertConservation(
  env: QuietEnv,
  initialStock: Map<string, number>,
  options: ConservationOptions = {},
): Promise<ConservationReport> {
  const report = await conservationReport(env, initialStock, options);
  expect(report.violations, `invariants violated; figures: ${JSON.stringify(report.products)}`).toEqual([]);
  return report;
}
