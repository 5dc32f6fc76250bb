import { randomUUID } from "node:crypto";
import type { RedisClient } from "@oms/shared";
import { answerFor, InventoryCode, InventoryScriptError } from "./codes";
import type { InventoryKeys } from "./types";
import { defineInventoryScripts, parseReply, type InventoryCommands } from "./scripts";

/** How long a change may take between its begin and its last move (a stalled API's move after it is dropped). */
export const STOCK_CHANGE_TTL_MS = 30_000;

/** A change of a product's level in flight: MySQL's half and the cache's half (stock-change-2.lua). */
export interface StockChange {
  productId: string;
  id: string;
  /** The level was cached when the change began: only then may a move land on it. */
  cached: boolean;
}

export type MoveResult =
  | { moved: true; level: number }
  | { moved: false; reason: "insufficient_stock"; available: number }
  /** Not cached when the change began (or not now), or the change expired: MySQL's level is read on load, or the reconciler raises it. */
  | { moved: false; reason: "not_cached" | "expired" };

/**
 * Changes of a product's level made in MySQL and in the cache, never counted twice:
 * the reconciler leaves a product alone while one is in flight, and a half that comes
 * too late or onto a level loaded since is dropped (the cache is left low, never high).
 */
export class StockChanges {
  private readonly redis: RedisClient & InventoryCommands;

  constructor(
    redis: RedisClient,
    private readonly keys: Pick<InventoryKeys, "stock" | "stockChanges">,
    private readonly ttlMs = STOCK_CHANGE_TTL_MS,
  ) {
    this.redis = defineInventoryScripts(redis);
  }

  /** Announces a change of `productId` before either half of it is made. */
  async begin(productId: string): Promise<StockChange> {
    const id = randomUUID();
    const [code = -1, cached = 0] = await this.script(productId, "begin", id, this.ttlMs);
    if (code !== InventoryCode.OK) throw new InventoryScriptError("stock-change", code);
    return { productId, id, cached: cached === 1 };
  }

  /** Moves the cached level by `delta`; `guarded` refuses to go below zero; `end` closes the change. */
  async move(
    change: StockChange,
    delta: number,
    options: { guarded?: boolean; end?: boolean } = {},
  ): Promise<MoveResult> {
    const [code = -1, value = 0] = await this.script(
      change.productId,
      "move",
      change.id,
      delta,
      options.guarded ? "guarded" : "plain",
      options.end ? "end" : "keep",
    );
    return answerFor<MoveResult>("stock-change", code, {
      [InventoryCode.OK]: { moved: true, level: value },
      [InventoryCode.INSUFFICIENT_STOCK]: { moved: false, reason: "insufficient_stock", available: value },
      [InventoryCode.NOT_LOADED]: { moved: false, reason: "not_cached" },
      [InventoryCode.CHANGE_EXPIRED]: { moved: false, reason: "expired" },
    });
  }

  /** Closes the change (whatever its halves did); the reconciler may look at the product again. */
  async end(change: StockChange): Promise<void> {
    await this.script(change.productId, "end", change.id);
  }

  private async script(productId: string, ...args: Array<string | number>): Promise<number[]> {
    return parseReply(
      await this.redis.omsStockChange(this.keys.stock(productId), this.keys.stockChanges(productId), ...args),
    );
  }
}
