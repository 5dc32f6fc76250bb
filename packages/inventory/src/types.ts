/** The engine's types, and the rules that turn script replies and per-shard answers into one. */
import { InventoryCode, InventoryScriptError } from "./codes";

export interface StockLine {
  productId: string;
  quantity: number;
}

/**
 * Where the engine's keys live. Stock is split into shards by product; every key a
 * script touches belongs to one shard, so each script's keys share one cluster slot.
 */
export interface InventoryKeys {
  /** Every shard, in the fixed order a cart spanning several reserves them. */
  shards: readonly number[];
  shardOf(productId: string): number;
  stock(productId: string): string;
  /** A reservation's part in one shard. */
  hold(orderId: string, shard?: number): string;
  holdExpiries(shard?: number): string;
  /** Hash: product id -> units held and not yet committed or released. */
  held(shard?: number): string;
  /** Present while a shard's cache is trustworthy; gone when its node lost its data. */
  epoch(shard?: number): string;
  /** Sorted set of a product's stock changes in flight (stock-change-2.lua), in the product's shard. */
  stockChanges(productId: string): string;
}

/** The stock cache is being rebuilt after Redis lost its data: try again shortly. */
export class CacheNotReadyError extends Error {
  constructor() {
    super("the stock cache is being rebuilt after Redis lost its data");
    this.name = "CacheNotReadyError";
  }
}

export interface ReconcileResult {
  productId: string;
  /** MySQL's figure minus (cached available + held - held units MySQL already sold); null when not cached. */
  drift: number | null;
  repaired: boolean;
}

/**
 * What MySQL says can still be sold, per product: quantity minus pending
 * reserve_purchase. Products that do not exist are absent from the map.
 */
export type TruthSource = ((productIds: string[]) => Promise<Map<string, number>>) & {
  /**
   * Of these orders, those whose sale MySQL already counts (so its figure no longer
   * includes their units). Without it the reconciler cannot tell a checkout between its
   * MySQL and Redis commits from drift.
   */
  soldAmong?: (orderIds: string[]) => Promise<Set<string>>;
};

export type ReserveResult =
  | { ok: true; replayed: boolean }
  | { ok: false; reason: "insufficient_stock"; productId: string; available: number }
  | { ok: false; reason: "unknown_product"; productId: string }
  | { ok: false; reason: "hold_released" };

export type HoldState = "held" | "committing" | "committed" | "released";

export interface HoldView {
  orderId: string;
  state: HoldState;
  expiresAt: number;
  lines: StockLine[];
}

export type HoldStepResult = { ok: true } | { ok: false; reason: "hold_not_found" | "hold_released" };
export type ReleaseResult =
  { ok: true; replayed: boolean } | { ok: false; reason: "hold_not_found" | "hold_committed" | "not_expired" };

export interface InventoryOptions {
  /** How long an ended (committed or released) hold record is kept, so replays see it. */
  retentionMs?: number;
  /**
   * Load levels only while the epoch marker exists. After Redis lost its data, the
   * recovery first ends the orphaned checkouts in MySQL, then sets the marker: a level
   * loaded earlier could miss an order that commits in between.
   */
  requireEpoch?: boolean;
  /**
   * Called with a key of a shard after a write that takes stock (a reservation, the
   * start of payment, a lowered level): waits for replicas to have it (REDIS_WAIT_REPLICAS),
   * so a failover to a replica cannot give the stock back.
   */
  replicated?: (shardKey: string) => Promise<unknown>;
}

/** One line per product: a cart listing a product twice reserves the sum once. */
export function mergeLines(lines: StockLine[]): StockLine[] {
  const merged = new Map<string, number>();
  for (const l of lines) merged.set(l.productId, (merged.get(l.productId) ?? 0) + l.quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

/** Items grouped by their shard, shards in ascending order (the order carts reserve them in). */
export function byShard<T>(keys: InventoryKeys, items: T[], productOf: (item: T) => string): Array<[number, T[]]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const shard = keys.shardOf(productOf(item));
    groups.set(shard, [...(groups.get(shard) ?? []), item]);
  }
  return [...groups].sort(([a], [b]) => a - b);
}

/**
 * One answer for a step run on several shards of an order: a part released means the
 * reservation is gone. When every shard asked must hold a part (`allExpected`), one
 * missing means the hold is gone; otherwise shards the order has no part in answer
 * "not found" and only all of them missing does.
 */
export function combineSteps(results: HoldStepResult[], allExpected = false): HoldStepResult {
  if (results.some((r) => !r.ok && r.reason === "hold_released")) return { ok: false, reason: "hold_released" };
  if (allExpected ? results.every((r) => r.ok) : results.some((r) => r.ok)) return { ok: true };
  return { ok: false, reason: "hold_not_found" };
}

/** One answer for a release run on every shard (same rules: "not found" parts are ignored when others exist). */
export function combineReleases(results: ReleaseResult[]): ReleaseResult {
  for (const reason of ["hold_committed", "not_expired"] as const)
    if (results.some((r) => !r.ok && r.reason === reason)) return { ok: false, reason };
  const found = results.filter((r): r is { ok: true; replayed: boolean } => r.ok);
  if (found.length === 0) return { ok: false, reason: "hold_not_found" };
  return { ok: true, replayed: found.every((r) => r.replayed) };
}

export function lineAt(lines: StockLine[], oneBased: number): StockLine {
  const line = lines[oneBased - 1];
  if (!line) throw new Error(`reserve reported line ${oneBased} of ${lines.length}`);
  return line;
}

export function holdStep(script: string, code: number): HoldStepResult {
  switch (code) {
    case InventoryCode.OK:
      return { ok: true };
    case InventoryCode.HOLD_NOT_FOUND:
      return { ok: false, reason: "hold_not_found" };
    case InventoryCode.HOLD_RELEASED:
      return { ok: false, reason: "hold_released" };
    default:
      throw new InventoryScriptError(script, code);
  }
}
