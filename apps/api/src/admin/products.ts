import { z } from "zod";
import {
  logFailure,
  affectedRows,
  dbNumber,
  MAX_STOCK_LEVEL,
  parseRow,
  RestockRequest,
  UpsertProductRequest,
  withTransaction,
  type Knex,
  errorMessage,
} from "@oms/shared";
import type { StockChange } from "@oms/inventory";
import type { ApiDeps } from "../deps";
import { failure, parseId, parseInput, success, type HttpResult } from "../http/result";
import { infrastructureFailure } from "../handlers/errors";

type LevelChange = { ok: true; before: number; after: number } | { ok: false; result: HttpResult };

const LevelRow = z.object({ quantity: z.number() });
/** Units committed orders still owe the warehouse (SUM: null when none). */
const OwedUnits = z.object({ units: dbNumber.nullable() });

/**
 * Sets a product's warehouse level in MySQL, then moves the cached level by the same
 * amount. A level below what committed orders still owe the warehouse (pending
 * reserve_purchase) is refused, and so is one above MAX_STOCK_LEVEL: a `set` is capped by
 * its schema, but an `add` is only known to pass the cap here, under the row lock.
 */
async function changeLevel(
  trx: Knex.Transaction,
  productId: string,
  next: (current: number) => number,
): Promise<LevelChange> {
  const row = parseRow(
    LevelRow,
    await trx("product_details").where({ product_id: productId }).forUpdate().first("quantity"),
  );
  if (!row) return { ok: false, result: failure("NOT_FOUND", `unknown product ${productId}`) };
  const after = next(row.quantity);
  if (after > MAX_STOCK_LEVEL)
    return {
      ok: false,
      result: failure(
        "CONFLICT",
        `add: the level would be ${after}, above the most a product may hold (${MAX_STOCK_LEVEL}); it is ${row.quantity}`,
        { quantity: row.quantity, maxQuantity: MAX_STOCK_LEVEL },
      ),
    };
  const pending = OwedUnits.parse(
    await trx("reserve_purchase").where({ product_id: productId }).sum({ units: "quantity" }).first(),
  );
  const owed = Number(pending.units ?? 0);
  if (after < owed)
    return {
      ok: false,
      result: failure("CONFLICT", `quantity ${after} is below the ${owed} units sold and not yet flushed`),
    };
  await trx("product_details").where({ product_id: productId }).update({ quantity: after });
  return { ok: true, before: row.quantity, after };
}

/**
 * Moves the cached level so that it is never above what MySQL allows, whatever fails
 * in between or however long either half takes: the change is announced first, so the
 * reconciler leaves the product alone until it is over (a "repair" of a half not landed
 * yet would count it twice once it lands), and a half that comes after the change
 * expired, or onto a level loaded from MySQL since, is dropped (the cache stays low).
 * A decrease is taken from the cache before MySQL commits (and given back if the commit
 * fails), an increase is added after. The cached level already leaves out units sold but
 * not flushed and units held by checkouts under way, so a decrease the cache cannot
 * cover would leave less stock than is spoken for: it is refused (409) before MySQL is
 * touched. Once MySQL has committed, the answer is a success even if the cache could not
 * follow (the reconciler repairs it), so a retry never applies a change twice.
 */
async function changeWithCache<T extends { delta: number }>(
  deps: ApiDeps,
  productId: string,
  level: { before: number; after: number } | undefined,
  commit: () => Promise<T | { result: HttpResult }>,
): Promise<(T & { cacheUpdated: boolean }) | { result: HttpResult }> {
  const changes = deps.engine.stockChanges;
  let taken = level && level.after < level.before ? level.before - level.after : 0;
  // A decrease is taken from the cached level: load it first, so the change begins on it.
  if (taken > 0) await deps.engine.load([productId]);
  const change = await changes.begin(productId);
  try {
    if (taken > 0) {
      const took = await changes.move(change, -taken, { guarded: true });
      if (!took.moved && took.reason === "insufficient_stock")
        return {
          result: failure(
            "CONFLICT",
            `quantity ${level?.after} is below the ${(level?.before ?? 0) - took.available} units sold and not yet flushed or held by checkouts under way`,
            { available: took.available },
          ),
        };
      // Not cached (Redis lost it just now): nothing was taken, and MySQL's level is what loads.
      if (!took.moved) taken = 0;
    }
    let outcome: T | { result: HttpResult };
    try {
      outcome = await commit();
    } catch (err) {
      if (taken > 0)
        await changes.move(change, taken, { end: true }).catch((undoErr: unknown) =>
          // The cache stays below MySQL (never above) until the reconciler repairs it.
          deps.logger.warn({ productId, units: taken, err: String(undoErr) }, "could not give back units to the cache"),
        );
      throw err;
    }
    const rest = "result" in outcome ? taken : outcome.delta + taken;
    const cacheUpdated = rest === 0 || (await moveAfterCommit(deps, change, rest));
    return "result" in outcome ? outcome : { ...outcome, cacheUpdated };
  } finally {
    await changes.end(change).catch(logFailure(deps.logger, "stock change not ended: it lapses by itself"));
  }
}

/** The cache's half after MySQL committed; a failure leaves the cache low for the reconciler. */
async function moveAfterCommit(deps: ApiDeps, change: StockChange, delta: number): Promise<boolean> {
  try {
    const moved = await deps.engine.stockChanges.move(change, delta, { end: true });
    if (!moved.moved && moved.reason === "expired")
      deps.logger.warn(
        { productId: change.productId, change: delta },
        "stock change expired before the cache followed; the reconciler will repair it",
      );
    // A level not cached needs no update: it is read from MySQL when it loads.
    return moved.moved || moved.reason === "not_cached";
  } catch (err) {
    deps.logger.warn(
      { productId: change.productId, change: delta, err: errorMessage(err) },
      "stock cache not updated; the reconciler will repair it",
    );
    return false;
  }
}

async function currentLevel(deps: ApiDeps, productId: string): Promise<number | undefined> {
  const row = parseRow(LevelRow, await deps.db("product_details").where({ product_id: productId }).first("quantity"));
  return row?.quantity;
}

async function availableOrNull(deps: ApiDeps, productId: string): Promise<number | null> {
  // The cached level only adds to the answer; when the cache cannot say, the answer says null.
  return (await deps.engine.available([productId]).catch(() => null))?.get(productId) ?? null;
}

/** POST /admin/products: create a product or update its name, price and level. */
export async function upsertProduct(deps: ApiDeps, body: unknown): Promise<HttpResult> {
  const input = parseInput(UpsertProductRequest, body);
  if (!input.ok) return input.result;
  const { productID, productName, priceCents, quantity } = input.data;
  try {
    const before = await currentLevel(deps, productID);
    const outcome = await changeWithCache<{ created: boolean; delta: number }>(
      deps,
      productID,
      before === undefined ? undefined : { before, after: quantity },
      () =>
        withTransaction(deps.db, async (trx) => {
          const inserted = affectedRows(
            await trx.raw(
              "INSERT IGNORE INTO product_details (product_id, product_name, quantity, price_cents) VALUES (?, ?, ?, ?)",
              [productID, productName, quantity, priceCents],
            ),
          );
          if (inserted === 1) return { created: true, delta: 0 };
          await trx("product_details")
            .where({ product_id: productID })
            .update({ product_name: productName, price_cents: priceCents });
          const level = await changeLevel(trx, productID, () => quantity);
          if (!level.ok) return level;
          return { created: false, delta: level.after - level.before };
        }),
    );
    if ("result" in outcome) return outcome.result;
    const available = await availableOrNull(deps, productID);
    return success(
      {
        productID,
        productName,
        priceCents,
        quantity,
        available,
        created: outcome.created,
        cacheUpdated: outcome.cacheUpdated,
      },
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
  const next = (current: number) => (add !== undefined ? current + add : (set ?? current));
  try {
    const before = await currentLevel(deps, id.id);
    if (before === undefined) return failure("NOT_FOUND", `unknown product ${id.id}`);
    const outcome = await changeWithCache<{ delta: number; quantity: number }>(
      deps,
      id.id,
      { before, after: next(before) },
      async () => {
        const level = await withTransaction(deps.db, (trx) => changeLevel(trx, id.id, next));
        return level.ok ? { delta: level.after - level.before, quantity: level.after } : level;
      },
    );
    if ("result" in outcome) return outcome.result;
    const available = await availableOrNull(deps, id.id);
    return success({
      productID: id.id,
      quantity: outcome.quantity,
      change: outcome.delta,
      available,
      cacheUpdated: outcome.cacheUpdated,
    });
  } catch (err) {
    return infrastructureFailure(err);
  }
}
