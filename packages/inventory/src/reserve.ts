import type { RedisClient } from "@oms/shared";
import { InventoryCode, InventoryScriptError } from "./codes";
import { holdPartKeys, parseReply, type InventoryCommands } from "./scripts";
import { lineAt, type InventoryKeys, type ReserveResult, type StockLine } from "./types";

export interface ShardReservation {
  shard: number;
  orderId: string;
  /** The order's lines whose products sit in this shard. */
  lines: StockLine[];
  ttlMs: number;
  now: number;
}

/**
 * One shard's part of a reservation: one script call, all or nothing within the shard.
 * A level not cached yet is loaded (`load` answers the ids MySQL does not know) and the
 * call tried again.
 */
export async function reserveInShard(
  redis: RedisClient & InventoryCommands,
  keys: InventoryKeys,
  load: (productIds: string[]) => Promise<string[]>,
  { shard, orderId, lines, ttlMs, now }: ShardReservation,
): Promise<ReserveResult> {
  const stockKeys = lines.map((l) => keys.stock(l.productId));
  for (let attempt = 0; attempt < 3; attempt++) {
    const [code = -1, line = 0, available = 0, replayed = 0] = parseReply(
      await redis.omsReserve(
        ...holdPartKeys(keys, orderId, shard, stockKeys),
        orderId,
        now,
        ttlMs,
        ...lines.map((l) => l.productId),
        ...lines.map((l) => l.quantity),
      ),
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
        const unknown = await load(lines.map((l) => l.productId));
        if (unknown[0] !== undefined) return { ok: false, reason: "unknown_product", productId: unknown[0] };
        continue;
      }
      default:
        throw new InventoryScriptError("reserve", code);
    }
  }
  throw new Error(`stock levels for order ${orderId} could not be loaded`);
}
