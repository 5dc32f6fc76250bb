import type { RedisClient } from "@oms/shared";
import { InventoryCode, InventoryScriptError } from "./codes";
import { defineInventoryScripts, type InventoryCommands } from "./scripts";

export interface StockLine {
  productId: string;
  quantity: number;
}

export interface InventoryKeys {
  stock(productId: string): string;
  hold(orderId: string): string;
  holdExpiries: string;
  /** Hash: product id -> units held and not yet committed or released. */
  held: string;
  /** Present while the cache is trustworthy; gone when Redis lost its data. */
  epoch: string;
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
  /** MySQL's figure minus (cached available + held); null when the level is not cached. */
  drift: number | null;
  repaired: boolean;
}

/**
 * What MySQL says can still be sold, per product: quantity minus pending
 * reserve_purchase. Products that do not exist are absent from the map.
 */
export type TruthSource = (productIds: string[]) => Promise<Map<string, number>>;

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
}

const DAY_MS = 86_400_000;

/**
 * The stock cache and holds in Redis. MySQL stays the source of truth: a level that
 * is not cached is loaded from it with SET NX, so a concurrent load never overwrites
 * a level that reservations already moved.
 */
export class InventoryEngine {
  private readonly redis: RedisClient & InventoryCommands;
  private readonly retentionMs: number;
  private readonly requireEpoch: boolean;

  constructor(
    redis: RedisClient,
    private readonly keys: InventoryKeys,
    private readonly truth: TruthSource,
    options: InventoryOptions = {},
  ) {
    this.redis = defineInventoryScripts(redis);
    this.retentionMs = options.retentionMs ?? DAY_MS;
    this.requireEpoch = options.requireEpoch ?? false;
  }

  /** Caches the levels of these products that are not cached yet; returns the ids MySQL does not know. */
  async load(productIds: string[]): Promise<string[]> {
    const unique = [...new Set(productIds)];
    if (unique.length === 0) return [];
    if (this.requireEpoch && !(await this.redis.exists(this.keys.epoch))) throw new CacheNotReadyError();
    const truth = await this.truth(unique);
    // Cached as MySQL says, even below zero, so available + held always equals MySQL's
    // figure. Plain commands, auto-pipelined: a Pipeline object would copy every script
    // defined on the connection first.
    await Promise.all(
      [...truth].map(([productId, available]) => this.redis.set(this.keys.stock(productId), available, "NX")),
    );
    return unique.filter((id) => !truth.has(id));
  }

  /**
   * The first line of a cart (a hash of product id -> quantity) that the cached levels
   * cannot cover, or null. Uncached levels count as covered, and so is everything while
   * the checkout lock is held: this is a fast refusal, never the reservation.
   */
  async cartShortfall(
    cartKey: string,
    checkoutLockKey: string,
  ): Promise<{ productId: string; available: number } | null> {
    const [code, productId, available] = await this.redis.omsCartShortfall(
      cartKey,
      checkoutLockKey,
      this.keys.stock(""),
    );
    if (code !== InventoryCode.INSUFFICIENT_STOCK || productId === undefined) return null;
    return { productId, available: Number(available) };
  }

  /** Available stock as cached, loading what is missing. Unknown products are absent. */
  async available(productIds: string[]): Promise<Map<string, number>> {
    const unique = [...new Set(productIds)];
    const levels = new Map<string, number>();
    if (unique.length === 0) return levels;
    const read = async (ids: string[]) => {
      const values = await this.redis.mget(ids.map((id) => this.keys.stock(id)));
      ids.forEach((id, i) => {
        const v = values[i];
        if (v !== null && v !== undefined) levels.set(id, Number(v));
      });
    };
    await read(unique);
    const missing = unique.filter((id) => !levels.has(id));
    if (missing.length > 0) {
      try {
        await this.load(missing);
        await read(missing);
      } catch (err) {
        if (!(err instanceof CacheNotReadyError)) throw err;
        // While the cache is rebuilt, MySQL's figure is the answer (no holds survive a loss).
        for (const [id, level] of await this.truth(missing)) levels.set(id, level);
      }
    }
    // A level can be below zero (a warehouse count set below what was held); nobody can buy it.
    for (const [id, level] of levels) levels.set(id, Math.max(0, level));
    return levels;
  }

  /** Holds every line or none. Idempotent by order id: a replay changes nothing. */
  async reserve(orderId: string, lines: StockLine[], ttlMs: number, now = Date.now()): Promise<ReserveResult> {
    if (lines.length === 0) throw new Error("reserve needs at least one line");
    lines = mergeLines(lines);
    const stockKeys = lines.map((l) => this.keys.stock(l.productId));
    for (let attempt = 0; attempt < 3; attempt++) {
      const [code = -1, line = 0, available = 0, replayed = 0] = await this.redis.omsReserve(
        stockKeys.length + 3,
        this.keys.hold(orderId),
        this.keys.holdExpiries,
        this.keys.held,
        ...stockKeys,
        orderId,
        now,
        ttlMs,
        ...lines.map((l) => l.productId),
        ...lines.map((l) => l.quantity),
      );
      switch (code) {
        case InventoryCode.OK:
          return { ok: true, replayed: replayed === 1 };
        case InventoryCode.INSUFFICIENT_STOCK:
          return {
            ok: false,
            reason: "insufficient_stock",
            productId: lineAt(lines, line).productId,
            available: Math.max(0, available),
          };
        case InventoryCode.HOLD_RELEASED:
          return { ok: false, reason: "hold_released" };
        case InventoryCode.NOT_LOADED: {
          const unknown = await this.load(lines.map((l) => l.productId));
          if (unknown[0] !== undefined) return { ok: false, reason: "unknown_product", productId: unknown[0] };
          continue;
        }
        default:
          throw new InventoryScriptError("reserve", code);
      }
    }
    throw new Error(`stock levels for order ${orderId} could not be loaded`);
  }

  /** Payment is about to start: from here on, expiry leaves the hold alone. */
  async beginCommit(orderId: string): Promise<HoldStepResult> {
    const [code = -1] = await this.redis.omsBeginCommit(this.keys.hold(orderId), this.keys.holdExpiries, orderId);
    return holdStep("beginCommit", code);
  }

  /** The order is durable in MySQL: the held stock is sold for good. */
  async commit(orderId: string): Promise<HoldStepResult> {
    const [code = -1] = await this.redis.omsCommit(
      this.keys.hold(orderId),
      this.keys.holdExpiries,
      this.keys.held,
      orderId,
      this.retentionMs,
    );
    return holdStep("commit", code);
  }

  /** Returns the hold's stock exactly once; never for a committed hold. */
  async release(orderId: string, mode: "any" | "expired" = "any", now = Date.now()): Promise<ReleaseResult> {
    const hold = await this.hold(orderId);
    const stockKeys = hold ? hold.lines.map((l) => this.keys.stock(l.productId)) : [];
    const [code = -1, replayed = 0] = await this.redis.omsRelease(
      stockKeys.length + 3,
      this.keys.hold(orderId),
      this.keys.holdExpiries,
      this.keys.held,
      ...stockKeys,
      orderId,
      this.retentionMs,
      mode,
      now,
    );
    switch (code) {
      case InventoryCode.OK:
        return { ok: true, replayed: replayed === 1 };
      case InventoryCode.HOLD_NOT_FOUND:
        return { ok: false, reason: "hold_not_found" };
      case InventoryCode.HOLD_COMMITTED:
        return { ok: false, reason: "hold_committed" };
      case InventoryCode.NOT_EXPIRED:
        return { ok: false, reason: "not_expired" };
      default:
        throw new InventoryScriptError("release", code);
    }
  }

  /** Applies a change already made in MySQL to the cached level (if cached). */
  async applyStockChange(productId: string, delta: number): Promise<number | null> {
    const [code = -1, available = 0] = await this.redis.omsRestock(this.keys.stock(productId), delta);
    if (code === InventoryCode.NOT_LOADED) return null;
    if (code !== InventoryCode.OK) throw new InventoryScriptError("restock", code);
    return available;
  }

  /**
   * Takes `units` off a product's level before MySQL's level is lowered, refusing to
   * take it below zero: the cached level already leaves out units sold but not flushed
   * and units held by checkouts under way, so this is the check that a new warehouse
   * level covers them. Loads an uncached level first.
   */
  async takeFromLevel(
    productId: string,
    units: number,
  ): Promise<{ ok: true } | { ok: false; reason: "insufficient_stock"; available: number }> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const [code = -1, available = 0] = await this.redis.omsRestock(this.keys.stock(productId), -units, "guarded");
      if (code === InventoryCode.OK) return { ok: true };
      if (code === InventoryCode.INSUFFICIENT_STOCK) return { ok: false, reason: "insufficient_stock", available };
      if (code !== InventoryCode.NOT_LOADED) throw new InventoryScriptError("restock", code);
      await this.load([productId]);
    }
    throw new CacheNotReadyError();
  }

  async hold(orderId: string): Promise<HoldView | null> {
    const h = await this.redis.hgetall(this.keys.hold(orderId));
    if (!h.state) return null;
    const n = Number(h.n ?? 0);
    const lines: StockLine[] = [];
    for (let i = 1; i <= n; i++) lines.push({ productId: h[`p${i}`] ?? "", quantity: Number(h[`q${i}`]) });
    return { orderId, state: h.state as HoldState, expiresAt: Number(h.exp ?? 0), lines };
  }

  /** Live holds whose time has passed (ids only), oldest first; a paying hold's time never passes. */
  async expiredHoldIds(now = Date.now(), limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.holdExpiries, "-inf", now, "LIMIT", 0, limit);
  }

  /** Releases holds that expired before payment began; returns how many were released. */
  async sweepExpired(now = Date.now(), limit = 500): Promise<number> {
    let released = 0;
    for (const orderId of await this.expiredHoldIds(now, limit)) {
      const r = await this.release(orderId, "expired", now);
      if (r.ok && !r.replayed) released++;
    }
    return released;
  }

  /**
   * Compares one product's cached level with MySQL and repairs drift that a second
   * look confirms. Returns what it found.
   */
  async reconcile(productId: string, settleMs = 500): Promise<ReconcileResult> {
    const [result] = await this.reconcileMany([productId], settleMs);
    return result ?? { productId, drift: null, repaired: false };
  }

  /**
   * Compares many cached levels with MySQL: one truth query for the lot, one script call
   * per product, sent together. Only the products that drifted are looked at again after
   * `settleMs` and repaired if the drift is still the same (a change in flight between
   * MySQL and Redis is not drift).
   */
  async reconcileMany(productIds: string[], settleMs = 500): Promise<ReconcileResult[]> {
    const look = async (ids: string[], mode: "check" | "repair", expected: Map<string, number>) => {
      const truth = await this.truth(ids);
      const replies = await Promise.all(
        ids.map(async (productId) => {
          const level = truth.get(productId);
          if (level === undefined) return null;
          const [code = -1, drift = 0, repaired = 0] = await this.redis.omsReconcile(
            this.keys.stock(productId),
            this.keys.held,
            productId,
            level,
            mode,
            expected.get(productId) ?? 0,
          );
          if (code === InventoryCode.NOT_LOADED) return null;
          if (code !== InventoryCode.OK) throw new InventoryScriptError("reconcile", code);
          return { drift, repaired: repaired === 1 };
        }),
      );
      return new Map(ids.map((id, i) => [id, replies[i] ?? null]));
    };
    const first = await look(productIds, "check", new Map());
    const drifted = productIds.filter((id) => (first.get(id)?.drift ?? 0) !== 0);
    let second = new Map<string, { drift: number; repaired: boolean } | null>();
    if (drifted.length > 0) {
      await new Promise((r) => setTimeout(r, settleMs));
      second = await look(drifted, "repair", new Map(drifted.map((id) => [id, first.get(id)?.drift ?? 0])));
    }
    return productIds.map((productId) => {
      const checked = first.get(productId);
      if (!checked) return { productId, drift: null, repaired: false };
      if (checked.drift === 0) return { productId, drift: 0, repaired: false };
      const again = second.get(productId);
      return { productId, drift: again?.drift ?? null, repaired: again?.repaired ?? false };
    });
  }

  /** Holds not yet committed or released: waiting for payment or in the middle of it. */
  async liveHoldCount(): Promise<number> {
    return this.redis.zcard(this.keys.holdExpiries);
  }
}

/** One line per product: a cart listing a product twice reserves the sum once. */
function mergeLines(lines: StockLine[]): StockLine[] {
  const merged = new Map<string, number>();
  for (const l of lines) merged.set(l.productId, (merged.get(l.productId) ?? 0) + l.quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

function lineAt(lines: StockLine[], oneBased: number): StockLine {
  const line = lines[oneBased - 1];
  if (!line) throw new Error(`reserve reported line ${oneBased} of ${lines.length}`);
  return line;
}

function holdStep(script: string, code: number): HoldStepResult {
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

/** A client's checkout lock: one checkout per client at a time; only the owner may drop it. */
export async function releaseCheckoutLock(redis: RedisClient, lockKey: string, orderId: string): Promise<boolean> {
  const [code = -1] = await defineInventoryScripts(redis).omsCheckoutUnlock(lockKey, orderId);
  if (code !== InventoryCode.OK && code !== InventoryCode.NOT_OWNER)
    throw new InventoryScriptError("checkout-unlock", code);
  return code === InventoryCode.OK;
}
