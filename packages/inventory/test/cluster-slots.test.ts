/**
 * The keys of one deployment spread over many Redis Cluster slots (each queue, each
 * client, each inventory shard under its own hash tag), yet every Lua script call, and
 * every other command naming several keys, must keep its keys in one slot or a Cluster
 * answers CROSSSLOT. The slot rule is implemented here from the spec and cross-checked
 * against the `cluster-key-slot` package that ioredis itself uses; the call sites are
 * proven by watching what the running system sends (MONITOR) through every flow.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import calculateSlot from "cluster-key-slot";
import { QueueKeys } from "bullmq";
import type { Redis } from "ioredis";
import { EVENT_QUEUE_NAMES, QUEUE_NAMES, keyspace } from "@oms/shared";
import { createStandaloneTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { addToCartOk, postJson, startApi, startInProcessWorkers } from "../../../test/support/system";
import { postEmpty } from "../../../test/support/lifecycle";
import { flushAll } from "../../../test/support/invariants";

// --- the Redis Cluster key-slot rule, from the spec --------------------------

/** CRC16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final xor. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/**
 * HASH_SLOT = CRC16(key) mod 16384, where only the hash tag is hashed when the key has
 * one: the bytes between the first "{" and the first "}" after it, if non-empty.
 */
function keySlot(key: string): number {
  const bytes = Buffer.from(key, "utf8");
  const open = bytes.indexOf(OPEN);
  if (open !== -1) {
    const close = bytes.indexOf(CLOSE, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}

// -----------------------------------------------------------------------------

/** Ids a client could send, including ones that try to open or close a hash tag. */
const HOSTILE_IDS = ["p1", "{", "}", "{}", "}{", "{evil}", "a{b}c", "}x{y}", "{{nested}}", "ü{ñ}😀", "with:colons", ""];

/** A deterministic stream of awkward strings (braces are over-represented). */
function* randomKeys(count: number): Generator<string> {
  const alphabet = ["{", "}", "{", "}", "a", "b", ":", "-", "0", "é", "😀", " "];
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  for (let i = 0; i < count; i++) {
    const length = next() % 12;
    let s = "";
    for (let j = 0; j < length; j++) s += alphabet[next() % alphabet.length];
    yield s;
  }
}

describe("the key-slot implementation", () => {
  test("CRC16 is XMODEM: its check value for '123456789' is 0x31C3", () => {
    expect(crc16(Buffer.from("123456789"))).toBe(0x31c3);
  });

  test("matches the slots published in the Redis documentation", () => {
    expect(keySlot("somekey")).toBe(11058);
    expect(keySlot("foo{hash_tag}")).toBe(2515);
    expect(keySlot("foo")).toBe(12182);
  });

  test("applies the hash-tag rule's edge cases like the spec says", () => {
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    expect(keySlot("{user1000}.followers")).toBe(keySlot("{user1000}.following"));
    expect(keySlot("foo{}{bar}")).toBe(crc16(Buffer.from("foo{}{bar}")) % 16384); // empty tag: whole key
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar")); // tag is "{bar"
    expect(keySlot("foo{bar}{zap}")).toBe(keySlot("bar")); // first tag only
    expect(keySlot("no}tag{here")).toBe(crc16(Buffer.from("no}tag{here")) % 16384);
  });

  test("agrees with the cluster-key-slot package on named edge cases and 5000 awkward strings", () => {
    const named = ["", "{", "}", "{}", "{a", "a}", "}{", "{}x", "foo{{bar}}zap", "foo{bar}{zap}", "ключ{é}", "{😀}x"];
    // cluster-key-slot 1.1.x deviates from Redis on one shape: when the first "{" is
    // immediately closed ("foo{}{bar}"), Redis hashes the whole key but the package keeps
    // scanning and hashes "{bar". Such keys are checked against the spec above instead.
    const emptyFirstTag = (key: string) => {
      const open = key.indexOf("{");
      return open !== -1 && key[open + 1] === "}" && key.indexOf("}", open + 2) !== -1;
    };
    const keys = [...named, ...HOSTILE_IDS, ...randomKeys(5000)].filter((k) => !emptyFirstTag(k));
    expect(keys.length).toBeGreaterThan(4000);
    for (const key of keys) {
      expect(keySlot(key), JSON.stringify(key)).toBe(calculateSlot(key));
    }
  });
});

describe("the application keyspace", () => {
  const keys = keyspace("oms", 8);

  test("each queue's keys, whatever the job id, share the slot of that queue's tag, and the queues differ", () => {
    const slots = [...Object.values(QUEUE_NAMES), ...Object.values(EVENT_QUEUE_NAMES)].map((queue) => {
      const queueKeys = new QueueKeys(keys.queuePrefix(queue));
      const all = [
        ...Object.values(queueKeys.getKeys(queue)),
        ...HOSTILE_IDS.map((jobId) => queueKeys.toKey(queue, jobId)),
      ];
      expect(calculateSlot.generateMulti(all), queue).toBe(keySlot(`oms:${queue}`));
      return keySlot(`oms:${queue}`);
    });
    expect(new Set(slots).size).toBe(5);
  });

  test("a client's keys share one slot whatever the id (braces included); clients spread", () => {
    const slotsOf = (id: string) =>
      [keys.checkoutLock(id), keys.cartMirror(id), keys.idempotency(id, "k{x}"), keys.rateLimit(id)].map(keySlot);
    for (const id of [...HOSTILE_IDS, ...randomKeys(500)]) expect(new Set(slotsOf(id)).size, id).toBe(1);
    const clients = Array.from({ length: 200 }, (_, i) => slotsOf(`client-${i}`)[0]);
    expect(new Set(clients).size).toBeGreaterThan(150);
  });

  test("a shard's keys share one slot; every product lands in one of the shards, and the shards differ", () => {
    const shardSlots = keys.shards.map((n) => keySlot(keys.held(n)));
    expect(new Set(shardSlots).size).toBe(8);
    for (const n of keys.shards) {
      // recovery-finish-2.lua: the shard's lease and its epoch marker together.
      const shardKeys = [keys.holdExpiries(n), keys.held(n), keys.epoch(n), keys.recoveryLock(n), keys.hold("o{1}", n)];
      expect(new Set(shardKeys.map(keySlot)).size).toBe(1);
    }
    const counts = new Map<number, number>();
    for (const id of [...HOSTILE_IDS, ...Array.from({ length: 800 }, (_, i) => `p-${i}`)]) {
      const n = keys.shardOf(id);
      expect(keySlot(keys.stock(id)), id).toBe(shardSlots[n]);
      // stock-change-2.lua (stock, changes) and reconcile.lua (stock, held, changes).
      expect(keySlot(keys.stockChanges(id)), id).toBe(shardSlots[n]);
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    // Products spread evenly enough that no shard carries twice its share.
    for (const n of keys.shards) expect(counts.get(n) ?? 0).toBeLessThan((2 * 812) / 8);
  });

  test("one shard (the default) puts all stock under one tag: today's single atomic script", () => {
    const one = keyspace("oms");
    expect(new Set(["a", "b", "{c}"].map((id) => keySlot(one.stock(id))))).toEqual(new Set([keySlot(one.held())]));
  });
});

/** Commands that name several keys: where their keys are among the arguments. */
const MULTI_KEY: Record<string, (args: string[]) => string[]> = {
  evalsha: (args) => args.slice(2, 2 + Number(args[1])),
  eval: (args) => args.slice(2, 2 + Number(args[1])),
  mget: (args) => args,
  del: (args) => args,
  unlink: (args) => args,
  exists: (args) => args,
  blpop: (args) => args.slice(0, -1),
  blmove: (args) => args.slice(0, 2),
  lmove: (args) => args.slice(0, 2),
  rpoplpush: (args) => args.slice(0, 2),
};

describe("every multi-key command the running system sends keeps its keys in one slot", () => {
  let env: TestEnv<Redis>;
  let monitor: Redis | undefined;
  const seen: Array<{ command: string; keys: string[] }> = [];

  beforeAll(async () => {
    env = await createStandaloneTestEnv({
      INVENTORY_SHARDS: "4",
      ADMIN_TOKEN: "cluster-slots-admin-token",
      HOLD_TTL_MS: "1000",
    });
    const tag = `{${env.config.REDIS_PREFIX}`;
    monitor = await env.redis.monitor();
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      const [name = "", ...rest] = args;
      const keysOf = MULTI_KEY[name.toLowerCase()];
      // Commands a script runs are checked through the script call itself.
      if (!keysOf || source === "lua" || !rest.some((a) => a.includes(tag))) return;
      seen.push({ command: name.toLowerCase(), keys: keysOf(rest) });
    });
  });
  afterAll(async () => {
    monitor?.disconnect();
    await env?.close();
  });

  test("through recovery, carts, checkouts (paid, declined, sold out, replayed), cancel, expiry, restock, reconcile and flush", async () => {
    // Two shards lost their data: the workers recover each under its own lease at start.
    for (const shard of [1, 2]) await env.redis.del(env.keys.epoch(shard));
    const workers = await startInProcessWorkers(env, { HOLD_SWEEP_INTERVAL_MS: 200 });
    const api = await startApi(env);
    try {
      const products = Array.from({ length: 8 }, (_, i) => `slot-p${i}`);
      await insertProducts(
        env.db,
        products.map((id) => ({ id, quantity: 5 })),
      );
      expect(new Set(products.map((id) => env.keys.shardOf(id))).size).toBeGreaterThan(1);
      const admin = { authorization: "Bearer cluster-slots-admin-token" };
      const paid: string[] = [];
      for (const [i, token] of ["tok_ok", "tok_decline", "tok_ok"].entries()) {
        const client = `slot-c${i}`;
        for (const id of products) await addToCartOk(api.url, client, id, 1);
        const res = await postJson(
          `${api.url}/checkOutCart`,
          { clientID: client, paymentToken: token },
          {
            "Idempotency-Key": `k-${client}`,
          },
        );
        expect(res.status, JSON.stringify(res.body)).toBe(token === "tok_ok" ? 200 : 402);
        if (res.status === 200) paid.push(String(res.body.orderId));
        await postJson(`${api.url}/checkOutCart`, { clientID: client }, { "Idempotency-Key": `k-${client}` });
      }
      // Sold out: the last unit goes to one of two carts, the other is turned away.
      await insertProducts(env.db, [{ id: "slot-last", quantity: 1 }]);
      for (const client of ["slot-c8", "slot-c9"]) await addToCartOk(api.url, client, "slot-last", 1);
      expect((await postJson(`${api.url}/checkOutCart`, { clientID: "slot-c8" })).status).toBe(200);
      expect((await postJson(`${api.url}/checkOutCart`, { clientID: "slot-c9" })).status).toBe(409);
      // A cancel returns its units through the stock changes of every shard it spans.
      const cancelled = await postEmpty(`${api.url}/orders/${paid[0]}/cancel`);
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
      // Restocks: raised by some units, then set (lowering a level is guarded by a script too).
      await postJson(`${api.url}/admin/products/slot-p0/restock`, { add: 2 }, admin);
      await postJson(`${api.url}/admin/products/slot-p0/restock`, { set: 4 }, admin);
      // A hold left to expire: reserved by the engine directly, swept by the workers.
      await workers.deps.engine.reserve("slot-expiring", [{ productId: "slot-p1", quantity: 1 }], 100);
      await postJson(`${api.url}/admin/reconcile`, {}, admin);
      await new Promise((r) => setTimeout(r, 1_000));
      await flushAll(env);
      expect(await workers.deps.engine.hold("slot-expiring")).toMatchObject({ state: "released" });
    } finally {
      await api.close();
      await workers.close();
    }

    const scripts = seen.filter((c) => c.command.startsWith("eval"));
    expect(scripts.length).toBeGreaterThan(50);
    // The scripts whose keys span kinds ran: stock changes (stock-change-2, reconcile)
    // and the per-shard recovery (lease-1, recovery-finish-2).
    const ran = (kind: string) => scripts.some((c) => c.keys.some((k) => k.includes(`}:${kind}`)));
    expect(ran("stockchanges:")).toBe(true);
    expect(ran("recovery")).toBe(true);
    const crossSlot = seen.filter((c) => calculateSlot.generateMulti(c.keys) === -1);
    expect(crossSlot).toEqual([]);
    // And they did not all land in one slot: the keys spread.
    expect(new Set(seen.map((c) => keySlot(c.keys[0] ?? ""))).size).toBeGreaterThan(6);
  });
});
