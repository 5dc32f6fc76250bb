/**
 * No oversell: the stock invariants per product, over figures read at rest (after the
 * flush). Units are conserved (initial + restocked + returned = MySQL quantity + sold),
 * never sold past what there was, and the Redis cache agrees with MySQL with no hold left.
 */
import type { Keyspace } from "@oms/shared";
import { Check } from "./check";
import type { ProductFigures, UnflushedRow } from "./figures";
import type { HoldFigures } from "./holds";

export interface CacheOptions {
  /** Accept a product whose stock key is not cached (its next load reads MySQL). Default false. */
  allowUncached?: boolean;
  /** The design keeps no stock level in Redis (the benchmark's MySQL-only designs): none is compared. */
  withoutCache?: boolean;
}

const supply = (f: ProductFigures) => f.initial + f.restocked + f.returned;

export function oversellCheck(figures: ProductFigures[], options: CacheOptions): Check {
  const check = new Check("no product sold past its stock");
  for (const f of figures) {
    check.count();
    if (f.sold > supply(f))
      check.fail(
        `${f.productId}: sold ${f.sold} > initial ${f.initial} + restocked ${f.restocked} + returned ${f.returned}`,
      );
    if (!options.withoutCache && f.redis !== null && f.redis < 0)
      check.fail(`${f.productId}: Redis available is negative (${f.redis})`);
  }
  return check;
}

/** Conservation in MySQL; a decrement left unflushed would make it hold by accident or fail it. */
export function conservationCheck(
  figures: ProductFigures[],
  unflushed: UnflushedRow[],
  lastFlushError: string | null = null,
): Check {
  const check = new Check("conservation: initial + restocks + returned = MySQL quantity + sold");
  for (const f of figures) {
    check.count();
    if (Number.isNaN(f.mysql)) check.fail(`${f.productId} is missing from product_details`);
    else if (supply(f) !== f.mysql + f.sold)
      check.fail(
        `${f.productId}: ${f.initial} + ${f.restocked} restocked + ${f.returned} returned != MySQL ${f.mysql} + sold ${f.sold} (off by ${supply(f) - f.mysql - f.sold})`,
      );
  }
  check.count();
  if (unflushed.length)
    check.fail(
      `${unflushed.length} reserve_purchase rows left after the flush${lastFlushError ? ` (flush error: ${lastFlushError})` : ""}: ${unflushed
        .slice(0, 5)
        .map((r) => `${r.reserve_id}/${r.product_id}x${r.quantity}`)
        .join(", ")}`,
    );
  return check;
}

export function cacheCheck(
  figures: ProductFigures[],
  holds: HoldFigures,
  keys: Keyspace,
  options: CacheOptions,
): Check {
  const check = new Check("Redis = MySQL, no holds left");
  for (const f of figures) {
    check.count();
    if (options.withoutCache) {
      // Nothing cached to compare.
    } else if (f.redis === null) {
      if (!options.allowUncached) check.fail(`${f.productId}: stock level is not cached in Redis`);
    } else if (f.redis !== f.mysql) {
      check.fail(`${f.productId}: Redis available ${f.redis} != MySQL quantity ${f.mysql}`);
    }
    if (f.held !== 0)
      check.fail(`${f.productId}: ${f.held} units still held in ${keys.held(keys.shardOf(f.productId))}`);
  }
  for (const { set, orderIds } of holds.expiring) {
    check.count();
    if (orderIds.length) check.fail(`${orderIds.length} live holds in ${set}: ${orderIds.slice(0, 5).join(", ")}`);
  }
  check.count(holds.records);
  if (holds.open.length) check.fail(`${holds.open.length} holds still open: ${holds.open.slice(0, 5).join(", ")}`);
  return check;
}
