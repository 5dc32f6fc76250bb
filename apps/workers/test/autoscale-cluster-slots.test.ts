/**
 * Redis Cluster at run time: every key the running system touches, and every key of each
 * Lua script call (ours and BullMQ's, including the keys a script builds inside Lua),
 * hashes to the one slot of the {prefix} tag. packages/inventory/test/cluster-slots.test.ts
 * checks the key patterns; this records what really happens: Redis MONITOR while the API,
 * the workers and the engine run carts, checkouts (paid, declined, retried), a restock,
 * an idempotent admin call and a hold expiry, then Redis' own COMMAND GETKEYS extracts
 * the keys of each command, and the CRC16 rule computes their slots.
 *
 * The test runs on its own Redis database, so MONITOR tells its commands from those of
 * the test files running beside it.
 */
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { SCRIPTS } from "@oms/inventory";
import { createTestEnv, insertProducts, REDIS_URL, type TestEnv } from "../../../test/support/env";
import { postJson, startApi, startInProcessWorkers } from "../../../test/support/system";

// ---- the Redis Cluster key-slot rule ------------------------------------------------

/** CRC16/XMODEM (polynomial 0x1021, initial 0), as Redis Cluster uses it. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** CRC16 of the hash tag (the bytes between the first "{" and the next "}", if any) or of the key, mod 16384. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, "utf8");
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}

// -------------------------------------------------------------------------------------

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

const DB = 11;
const dbUrl = `${REDIS_URL.replace(/\/\d*$/, "")}/${DB}`;

interface Seen {
  args: string[];
  source: string;
}

let env: TestEnv;
const seen: Seen[] = [];
let monitor: Redis | undefined;

beforeAll(async () => {
  env = await createTestEnv({ REDIS_URL: dbUrl, ADMIN_TOKEN: "admin-token-for-the-slot-test" });
});

afterAll(async () => {
  monitor?.disconnect();
  await env?.close();
});

/**
 * MONITOR prints arguments the way redis-cli does (\n, \xHH, \\ ...); ioredis only
 * turns \" back into ". This undoes the rest, so a script's source hashes to its SHA.
 */
function unescapeMonitorArg(arg: string): string {
  const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", a: "\x07", b: "\b", "\\": "\\" };
  return arg.replace(/\\(x[0-9a-f]{2}|[nrtab\\])/g, (_m, code: string) =>
    code.startsWith("x") ? String.fromCharCode(parseInt(code.slice(1), 16)) : (simple[code] ?? code),
  );
}

/** Everything the system does against Redis, recorded by MONITOR. */
async function exercise(): Promise<void> {
  const tap = new Redis(dbUrl);
  monitor = await tap.monitor();
  tap.disconnect();
  monitor.on("monitor", (_time: string, args: string[], source: string, database: string) => {
    if (database === String(DB)) seen.push({ args: args.map(unescapeMonitorArg), source });
  });

  const product = `p-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: product, quantity: 100, priceCents: 500 }]);
  const api = await startApi(env);
  const workers = await startInProcessWorkers(env);
  try {
    const checkout = async (clientID: string, paymentToken: string) => {
      const added = await postJson(`${api.url}/addToCart`, { clientID, productID: product, quantity: 2 });
      expect(added.status).toBe(200);
      return postJson(`${api.url}/checkOutCart`, { clientID, paymentToken }, { "idempotency-key": randomUUID() });
    };
    expect((await checkout("slot-paid", "tok_ok")).status).toBe(200);
    expect((await checkout("slot-declined", "tok_decline")).status).toBe(402);
    expect((await checkout("slot-retried", "tok_error")).status).toBe(200);
    const restock = await postJson(
      `${api.url}/admin/products/${product}/restock`,
      { add: 5 },
      { authorization: `Bearer ${env.config.ADMIN_TOKEN}`, "idempotency-key": randomUUID() },
    );
    expect(restock.status).toBe(200);
    // A hold that expires, and the sweep that releases it.
    const engine = workers.deps.engine;
    const reserved = await engine.reserve(randomUUID(), [{ productId: product, quantity: 1 }], 1);
    expect(reserved.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await engine.sweepExpired()).toBe(1);
  } finally {
    await workers.close();
    await api.close();
    // Let the last commands reach the monitor.
    await new Promise((r) => setTimeout(r, 200));
    monitor.disconnect();
  }
}

/** The keys of each distinct command, as Redis itself extracts them (commands without keys are left out). */
async function keysOf(commands: Seen[]): Promise<Map<string, string[]>> {
  const distinct = [...new Map(commands.map((c) => [JSON.stringify(c.args), c.args])).values()];
  const client = new Redis(dbUrl);
  try {
    const pipeline = client.pipeline();
    for (const args of distinct) pipeline.call("COMMAND", "GETKEYS", ...args);
    const replies = (await pipeline.exec()) ?? [];
    const keys = new Map<string, string[]>();
    replies.forEach(([err, reply], i) => {
      const args = distinct[i];
      if (!err && args && Array.isArray(reply)) keys.set(JSON.stringify(args), reply.map(String));
    });
    return keys;
  } finally {
    client.disconnect();
  }
}

describe("every key the running system touches lives in the one slot of its {prefix}", () => {
  it("the slot rule is Redis Cluster's", () => {
    expect(crc16(Buffer.from("123456789"))).toBe(0x31c3);
    expect(keySlot("somekey")).toBe(11058);
    expect(keySlot("foo")).toBe(12182);
    expect(keySlot("foo{hash_tag}")).toBe(2515);
    expect(keySlot("foo{}{bar}")).toBe(crc16(Buffer.from("foo{}{bar}")) % 16384);
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
  });

  it("records carts, checkouts, retries, a restock and a hold expiry, and finds every key in one slot", async () => {
    await exercise();
    const slot = keySlot(env.config.REDIS_PREFIX);
    const keys = await keysOf(seen);
    const offending = new Set<string>();
    const allKeys = new Set<string>();
    const scripts = new Map<string, number>();
    for (const { args, source } of seen) {
      const commandKeys = keys.get(JSON.stringify(args)) ?? [];
      for (const key of commandKeys) {
        allKeys.add(key);
        if (keySlot(key) !== slot) offending.add(`${args[0]} ${key} (from ${source})`);
      }
      const name = (args[0] ?? "").toLowerCase();
      if ((name === "evalsha" || name === "eval") && args[1]) {
        // ioredis sends EVALSHA, and EVAL with the source when Redis does not know the script yet.
        const sha = name === "eval" ? sha1(args[1]) : args[1];
        scripts.set(sha, (scripts.get(sha) ?? 0) + 1);
        // Each script call's KEYS share a slot (what Redis Cluster demands of one call).
        expect(new Set(commandKeys.map(keySlot)).size, `${name} ${sha}`).toBeLessThanOrEqual(1);
      }
    }

    expect([...offending]).toEqual([]);
    // Enough was recorded to mean something: keys of the stock, holds, locks and queues,
    // commands run inside scripts, and many distinct scripts.
    const tag = `{${env.config.REDIS_PREFIX}}`;
    for (const part of [":stock:", ":hold:", ":lock:checkout:", ":idem:", ":checkout:wait", ":inventory:"]) {
      expect(
        [...allKeys].some((k) => k.startsWith(tag) && k.includes(part)),
        part,
      ).toBe(true);
    }
    expect(seen.some((c) => c.source === "lua")).toBe(true);
    expect(scripts.size).toBeGreaterThanOrEqual(10);
    // Each of our inventory scripts ran (ioredis sends EVALSHA of the SHA-1 of the source).
    for (const [name, { file }] of Object.entries(SCRIPTS)) {
      const source = readFileSync(new URL(`../../../packages/inventory/src/lua/${file}`, import.meta.url), "utf8");
      expect(scripts.has(sha1(source)), `${name} (${file}) was not called`).toBe(true);
    }
  });
});
