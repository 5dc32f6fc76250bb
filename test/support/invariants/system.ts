/**
 * Every whole-system invariant of checkout, refunds included, checked once the system is
 * at rest: the one checker behind the test suite's conservation assert, the benchmark's
 * correctness figures and the chaos suite's report. Each returns what it read, so a
 * caller adds its own checks (what its clients were told) without reading it again.
 */
import { Check } from "./check";
import {
  readOrderIds,
  readOrders,
  readPayments,
  readProductFigures,
  readUnflushed,
  type OrderRow,
  type PaymentRow,
  type ProductBook,
  type ProductFigures,
  type StateSource,
} from "./figures";
import { readHolds } from "./holds";
import { paid, paymentCheck, terminalCheck } from "./order-checks";
import { checkRefunds } from "./refunds";
import { cacheCheck, conservationCheck, oversellCheck, type CacheOptions } from "./stock-checks";

export interface SystemCheckOptions extends CacheOptions {
  /**
   * Examine only the orders and holds touching these products: a test file's tests share
   * one database and one Redis prefix, and another test's order may still be in flight.
   * Default: everything (a chaos run owns its whole system).
   */
  onlyTheseProducts?: boolean;
  /** Why the last flush before the check failed, if it did: reported with left-over rows. */
  lastFlushError?: string | null;
}

export interface SystemInvariants {
  checks: {
    oversell: Check;
    conservation: Check;
    cache: Check;
    terminal: Check;
    payments: Check;
    refunds: Check;
  };
  products: ProductFigures[];
  /** The orders examined. */
  orders: OrderRow[];
  payments: PaymentRow[];
  figures: { completedOrders: number; failedOrders: number; pendingOrders: number };
}

export async function checkSystem(
  source: StateSource,
  products: ProductBook[],
  options: SystemCheckOptions = {},
): Promise<SystemInvariants> {
  const { db, keys } = source;
  const productIds = products.map((p) => p.productId);
  const scope = options.onlyTheseProducts ? productIds : null;
  const refundFigures = await checkRefunds(db);
  const figures = await readProductFigures(source, products, refundFigures.returned);
  const unflushed = await readUnflushed(db);
  const holds = await readHolds(source, scope);
  const orders = await readOrders(db, scope);
  const payments = await readPayments(db);
  const knownOrderIds = await readOrderIds(db);

  // "Never refunded twice": each refund confirmed once by the provider, nothing refunded
  // past what was paid or bought (refunds.ts).
  const refunds = new Check("never refunded twice");
  refunds.count(refundFigures.checked);
  for (const v of refundFigures.violations) refunds.fail(v);

  return {
    checks: {
      oversell: oversellCheck(figures, options),
      conservation: conservationCheck(figures, unflushed, options.lastFlushError),
      cache: cacheCheck(figures, holds, keys, options),
      terminal: terminalCheck(orders),
      payments: paymentCheck(orders, payments, knownOrderIds),
      refunds,
    },
    products: figures,
    orders,
    payments,
    figures: {
      completedOrders: orders.filter(paid).length,
      failedOrders: orders.filter((o) => o.state === "failed").length,
      pendingOrders: orders.filter((o) => o.state === "pending").length,
    },
  };
}
