import type { RedisClient } from "@oms/shared";
import { InventoryCode, InventoryScriptError } from "./codes";
import { defineInventoryScripts, parseReply, type InventoryCommands } from "./scripts";
import { reconcileLevels } from "./reconcile";
import { reserveInShard } from "./reserve";
import { cachedLevels, cartShortfall, holdPart } from "./reads";
import { releaseInShard } from "./release";
import { StockChanges } from "./stock-change";
import {
  CacheNotReadyError,
  holdStep,
  byShard,
  combineReleases,
  combineSteps,
  mergeLines,
  type HoldStepResult,
  type HoldView,
  type InventoryKeys,
  type InventoryOptions,
  type ReconcileResult,
  type ReleaseResult,
  type ReserveResult,
  type StockLine,
  type TruthSource,
} from "./types";

const DAY_MS = 86_400_000;

/**
 * The stock cache and holds in Redis. MySQL stays the source of truth: a level that
 * is not cached is loaded from it with SET NX, so a concurrent load never overwrites
 * a level that reservations already moved. Each script runs inside one shard; an
 * order whose products sit in several shards has a hold part in each.
 */
export class InventoryEngine {
  private readonly redis: RedisClient & InventoryCommands;
  private readonly retentionMs: number;
  private readonly requireEpoch: boolean;
  private readonly replicated: (shardKey: string) => Promise<unknown>;
  /** Changes of a level made in MySQL and here (restock, refund): see stock-change.ts. */
  readonly stockChanges: StockChanges;

  constructor(
    redis: RedisClient,
    private readonly keys: InventoryKeys,
    private readonly truth: TruthSource,
    options: InventoryOptions = {},
  ) {
    this.redis = defineInventoryScripts(redis);
    this.retentionMs = options.retentionMs ?? DAY_MS;
    this.requireEpoch = options.requireEpoch ?? false;
    this.replicated = options.replicated ?? (async () => undefined);
    this.stockChanges = new StockChanges(redis, keys);
  }

  /** Caches the levels of these products that are not cached yet; returns the ids MySQL does not know. */
  async load(productIds: string[]): Promise<string[]> {
    const unique = [...new Set(productIds)];
    if (unique.length === 0) return [];
    if (this.requireEpoch) {
      const shards = byShard(this.keys, unique, (id) => id).map(([shard]) => shard);
      const present = await Promise.all(shards.map((shard) => this.redis.exists(this.keys.epoch(shard))));
      if (present.some((n) => n === 0)) throw new CacheNotReadyError();
    }
    const truth = await this.truth(unique);
    // Cached as MySQL says, even below zero, so available + held always equals MySQL's
    // figure. Plain commands, auto-pipelined: a Pipeline object would copy every script
    // defined on the connection first.
    await Promise.all(
      [...truth].map(([productId, available]) => this.redis.set(this.keys.stock(productId), available, "NX")),
    );
    return unique.filter((id) => !truth.has(id));
  }

  /** The first cart line the cached levels cannot cover, or null: a fast refusal (./reads.ts). */
  cartShortfall(
    cartKey: string,
    checkoutLockKey: string,
    editedMark: string,
  ): Promise<{ productId: string; available: number; edited: boolean } | null> {
    return cartShortfall(this.redis, this.keys, { cartKey, checkoutLockKey, editedMark });
  }

  /** Cached levels (./reads.ts); uncached ones are absent. */
  private cachedLevels(productIds: string[]): Promise<Map<string, number>> {
    return cachedLevels(this.redis, this.keys, productIds);
  }

  /** Available stock as cached, loading what is missing. Unknown products are absent. */
  async available(productIds: string[]): Promise<Map<string, number>> {
    const unique = [...new Set(productIds)];
    const levels = await this.cachedLevels(unique);
    const missing = unique.filter((id) => !levels.has(id));
    if (missing.length > 0) {
      try {
        await this.load(missing);
        for (const [id, level] of await this.cachedLevels(missing)) levels.set(id, level);
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

  /**
   * Holds every line or none. Idempotent by order id: a replay changes nothing. A cart
   * spanning shards reserves them in ascending order; when a shard refuses, the parts
   * taken before it are released, so nothing stays held (a replay then answers
   * hold_released from those parts, as it would for an expired hold).
   */
  async reserve(orderId: string, lines: StockLine[], ttlMs: number, now = Date.now()): Promise<ReserveResult> {
    if (lines.length === 0) throw new Error("reserve needs at least one line");
    const shards = byShard(this.keys, mergeLines(lines), (l) => l.productId);
    let result: ReserveResult = { ok: true, replayed: true };
    for (const [index, [shard, shardLines]] of shards.entries()) {
      const part = await reserveInShard(this.redis, this.keys, (ids) => this.load(ids), {
        shard,
        orderId,
        lines: shardLines,
        ttlMs,
        now,
      });
      if (!part.ok) {
        for (const [taken] of shards.slice(0, index)) await this.releaseInShard(taken, orderId, "any", now);
        return part;
      }
      if (!part.replayed) result = { ok: true, replayed: false };
      await this.replicated(this.keys.holdExpiries(shard));
    }
    return result;
  }

  /**
   * Payment is about to start: from here on, expiry leaves the hold alone. Given the
   * order's products, only their shards are asked, and a part missing from one of them
   * (its node lost its data) means the hold is gone, so the checkout reserves again
   * rather than pay for stock no shard holds.
   */
  async beginCommit(orderId: string, productIds?: string[]): Promise<HoldStepResult> {
    const shards = productIds ? byShard(this.keys, productIds, (id) => id).map(([shard]) => shard) : undefined;
    return this.onEveryShard(async (shard) => {
      const [code = -1] = parseReply(
        await this.redis.omsBeginCommit(this.keys.hold(orderId, shard), this.keys.holdExpiries(shard), orderId),
      );
      if (code === InventoryCode.OK) await this.replicated(this.keys.holdExpiries(shard));
      return holdStep("beginCommit", code);
    }, shards);
  }

  /** The order is durable in MySQL: the held stock is sold for good. */
  async commit(orderId: string): Promise<HoldStepResult> {
    return this.onEveryShard(async (shard) => {
      const [code = -1] = parseReply(
        await this.redis.omsCommit(
          this.keys.hold(orderId, shard),
          this.keys.holdExpiries(shard),
          this.keys.held(shard),
          orderId,
          this.retentionMs,
        ),
      );
      return holdStep("commit", code);
    });
  }

  /**
   * Runs a hold step in the order's shards at once, or, when they are not known, in every
   * shard (one script call each; with one shard, the single call it always was), where a
   * shard without a part answers "not found" and is ignored when another has one.
   */
  private async onEveryShard(
    step: (shard: number) => Promise<HoldStepResult>,
    orderShards?: number[],
  ): Promise<HoldStepResult> {
    return combineSteps(await Promise.all((orderShards ?? this.keys.shards).map(step)), orderShards !== undefined);
  }

  /** Returns the hold's stock exactly once; never for a committed hold. */
  async release(orderId: string, mode: "any" | "expired" = "any", now = Date.now()): Promise<ReleaseResult> {
    return combineReleases(
      await Promise.all(this.keys.shards.map((shard) => this.releaseInShard(shard, orderId, mode, now))),
    );
  }

  private releaseInShard(shard: number, orderId: string, mode: "any" | "expired", now: number) {
    return releaseInShard(this.redis, this.keys, { shard, orderId, mode, now, retentionMs: this.retentionMs });
  }

  /** Applies a change already made in MySQL to the cached level (if cached). */
  async adjustCachedLevel(productId: string, delta: number): Promise<number | null> {
    const [code = -1, available = 0] = parseReply(await this.redis.omsAdjustLevel(this.keys.stock(productId), delta));
    if (code === InventoryCode.NOT_LOADED) return null;
    if (code !== InventoryCode.OK) throw new InventoryScriptError("adjust-level", code);
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
      const [code = -1, available = 0] = parseReply(
        await this.redis.omsAdjustLevel(this.keys.stock(productId), -units, "guarded"),
      );
      if (code === InventoryCode.OK) {
        await this.replicated(this.keys.stock(productId));
        return { ok: true };
      }
      if (code === InventoryCode.INSUFFICIENT_STOCK) return { ok: false, reason: "insufficient_stock", available };
      if (code !== InventoryCode.NOT_LOADED) throw new InventoryScriptError("adjust-level", code);
      await this.load([productId]);
    }
    throw new CacheNotReadyError();
  }

  /**
   * An order's hold: its parts' lines together, in the state of its first part (parts
   * differ only while a step is between shards).
   */
  async hold(orderId: string): Promise<HoldView | null> {
    const parts = (await Promise.all(this.keys.shards.map((shard) => this.holdPart(orderId, shard)))).filter(
      (p): p is HoldView => p !== null,
    );
    const [first] = parts;
    return first ? { ...first, lines: parts.flatMap((p) => p.lines) } : null;
  }

  private holdPart(orderId: string, shard: number): Promise<HoldView | null> {
    return holdPart(this.redis, this.keys, orderId, shard);
  }

  /** Live holds of a shard whose time has passed (ids only), oldest first; a paying hold's time never passes. */
  async expiredHoldIds(now = Date.now(), limit = 500, shard = 0): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.holdExpiries(shard), "-inf", now, "LIMIT", 0, limit);
  }

  /**
   * Releases hold parts that expired before payment began, shard by shard (an order's
   * parts share one expiry, so each shard's sweep finds its own); returns how many.
   */
  async sweepExpired(now = Date.now(), limit = 500): Promise<number> {
    let released = 0;
    for (const shard of this.keys.shards) {
      for (const orderId of await this.expiredHoldIds(now, limit, shard)) {
        const r = await this.releaseInShard(shard, orderId, "expired", now);
        if (r.ok && !r.replayed) released++;
      }
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

  /** Compares many cached levels with MySQL, repairing drift a second look confirms (./reconcile.ts). */
  async reconcileMany(productIds: string[], settleMs = 500): Promise<ReconcileResult[]> {
    return reconcileLevels(this.redis, this.keys, this.truth, productIds, settleMs);
  }

  /** Orders with a live hold part (up to `limit`), shard by shard. */
  async liveHoldIds(limit: number): Promise<string[]> {
    const perShard = await Promise.all(
      this.keys.shards.map((shard) => this.redis.zrange(this.keys.holdExpiries(shard), 0, limit - 1)),
    );
    return [...new Set(perShard.flat())].slice(0, limit);
  }

  /** Hold parts not yet committed or released (one per shard an order spans): waiting for payment or in it. */
  async liveHoldCount(): Promise<number> {
    const counts = await Promise.all(this.keys.shards.map((shard) => this.redis.zcard(this.keys.holdExpiries(shard))));
    return counts.reduce((a, b) => a + b, 0);
  }
}
