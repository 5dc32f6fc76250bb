import type { RedisClient } from "@oms/shared";
import { answerFor, InventoryCode } from "./codes";
import { holdPart } from "./reads";
import { holdPartKeys, parseReply, type InventoryCommands } from "./scripts";
import type { InventoryKeys, ReleaseResult } from "./types";

export interface ShardRelease {
  shard: number;
  orderId: string;
  /** "expired": only a hold whose time has passed and whose payment has not begun. */
  mode: "any" | "expired";
  now: number;
  /** How long the ended hold record is kept, so replays see it. */
  retentionMs: number;
}

/** Returns one shard's part of a hold to the levels, exactly once; never a committed part. */
export async function releaseInShard(
  redis: RedisClient & InventoryCommands,
  keys: InventoryKeys,
  { shard, orderId, mode, now, retentionMs }: ShardRelease,
): Promise<ReleaseResult> {
  const hold = await holdPart(redis, keys, orderId, shard);
  const stockKeys = hold ? hold.lines.map((l) => keys.stock(l.productId)) : [];
  const [code = -1, replayed = 0] = parseReply(
    await redis.omsRelease(...holdPartKeys(keys, orderId, shard, stockKeys), orderId, retentionMs, mode, now),
  );
  return answerFor<ReleaseResult>("release", code, {
    [InventoryCode.OK]: { ok: true, replayed: replayed === 1 },
    [InventoryCode.HOLD_NOT_FOUND]: { ok: false, reason: "hold_not_found" },
    [InventoryCode.HOLD_COMMITTED]: { ok: false, reason: "hold_committed" },
    [InventoryCode.NOT_EXPIRED]: { ok: false, reason: "not_expired" },
  });
}
