/**
 * The Redis the scripts-*.test.ts files call the Lua scripts on (not a test file itself):
 * a prefix of their own with the commands defineInventoryScripts registers, and the clock
 * and durations they pass. scripts-calls.ts calls each script, scripts-state.ts reads what
 * it left.
 */
import { afterAll, beforeAll } from "vitest";
import type { Redis } from "ioredis";
import { defineInventoryScripts, type InventoryKeys } from "@oms/inventory";
import type { InventoryCommands } from "../src/scripts";
import { createStandaloneTestEnv, type TestEnv } from "../../../test/support/env";

export const NOW = 1_700_000_000_000;
export const TTL = 60_000;
export const RETENTION = 3_600_000;

export let env: TestEnv<Redis>;
export let redis: Redis & InventoryCommands;
export let keys: InventoryKeys;

/** Gives this test file its own prefix on the standalone Redis, and closes it after. */
export function setUpScripts(): void {
  beforeAll(async () => {
    env = await createStandaloneTestEnv();
    redis = defineInventoryScripts(env.redis);
    keys = env.keys;
  });
  afterAll(async () => env?.close());
}
