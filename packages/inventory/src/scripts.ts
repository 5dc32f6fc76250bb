import { readFileSync } from "node:fs";
import type { RedisClient } from "@oms/shared";
import { z } from "zod";
import type { InventoryKeys } from "./types";

function lua(file: string): string {
  return readFileSync(new URL(`./lua/${file}`, import.meta.url), "utf8");
}

/** Script name -> file and fixed key count (undefined: the caller passes numkeys first). */
export const SCRIPTS = {
  omsReserve: { file: "reserve.lua", numberOfKeys: undefined },
  omsBeginCommit: { file: "begin-commit-2.lua", numberOfKeys: 2 },
  omsCommit: { file: "commit-3.lua", numberOfKeys: 3 },
  omsRelease: { file: "release.lua", numberOfKeys: undefined },
  omsAdjustLevel: { file: "adjust-level-1.lua", numberOfKeys: 1 },
  omsCheckoutUnlock: { file: "checkout-unlock-1.lua", numberOfKeys: 1 },
  omsReconcile: { file: "reconcile.lua", numberOfKeys: undefined },
  omsStockChange: { file: "stock-change-2.lua", numberOfKeys: 2 },
  omsLease: { file: "lease-1.lua", numberOfKeys: 1 },
  omsRecoveryFinish: { file: "recovery-finish-2.lua", numberOfKeys: 2 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
/** What a script answers, unchecked until parseReply: every script returns a flat array of integers. */
type Reply = unknown;

const integers = z.array(z.number().int());

/** A script's reply checked as the integers every script returns (a code first). */
export function parseReply(reply: unknown): number[] {
  return integers.parse(reply);
}

export interface InventoryCommands {
  omsReserve(numKeys: number, ...args: Array<string | number>): Promise<Reply>;
  omsBeginCommit(...args: Array<string | number>): Promise<Reply>;
  omsCommit(...args: Array<string | number>): Promise<Reply>;
  omsRelease(numKeys: number, ...args: Array<string | number>): Promise<Reply>;
  omsAdjustLevel(...args: Array<string | number>): Promise<Reply>;
  omsCheckoutUnlock(...args: Array<string | number>): Promise<Reply>;
  omsReconcile(numKeys: number, ...args: Array<string | number>): Promise<Reply>;
  omsStockChange(...args: Array<string | number>): Promise<Reply>;
  omsLease(leaseKey: string, token: string, action: "extend" | "release", ttlMs?: number): Promise<Reply>;
  omsRecoveryFinish(leaseKey: string, epochKey: string, token: string, epoch: string): Promise<Reply>;
}

/**
 * numkeys and KEYS of the scripts on one shard's part of a hold (reserve.lua,
 * release.lua): the part, the shard's expiry set and held hash, then the stock keys.
 */
export function holdPartKeys(
  keys: InventoryKeys,
  orderId: string,
  shard: number,
  stockKeys: readonly string[],
): [number, ...string[]] {
  return [stockKeys.length + 3, keys.hold(orderId, shard), keys.holdExpiries(shard), keys.held(shard), ...stockKeys];
}

/** Registers every script through defineCommand, which handles EVALSHA with an EVAL fallback. */
export function defineInventoryScripts<C extends RedisClient>(redis: C): C & InventoryCommands {
  for (const [name, spec] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) {
      redis.defineCommand(name, {
        lua: lua(spec.file),
        ...(spec.numberOfKeys === undefined ? {} : { numberOfKeys: spec.numberOfKeys }),
      });
    }
  }
  return redis as C & InventoryCommands;
}
