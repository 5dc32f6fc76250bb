/**
 * The group-commit writer against the real MariaDB: batches form by themselves under
 * load, a lone write goes at once, one op's conflict fails only that op, an unreachable
 * database fails every caller, and a worker process killed between a batch's commit and
 * its callers' next step loses and doubles nothing.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createDb, withTransaction, type Knex } from "@oms/shared";
import { GroupCommitWriter, OrderStore, type WriteKind } from "@oms/workers";
import { chaosCrashCounter } from "../../../test/chaos/crash-hook";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  postJson,
  spawnWorkerProcess,
  startApi,
  type RunningApi,
  type WorkerProcess,
} from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv({ JOB_LOCK_MS: "2000", STALLED_CHECK_MS: "1000", JOB_BACKOFF_MS: "50" });
});

afterAll(async () => {
  await env?.close();
});

const uid = () => randomUUID().slice(0, 8);

/** A kind that records each op's number in a table of its own, and can be told to break on one. */
function markerKind(table: string): WriteKind<number, string> {
  return {
    name: `mark-${table}`,
    async run(trx, ops) {
      // A value that is not an integer breaks the whole statement, as a foreign-key
      // violation or a bad row would.
      await trx.raw(
        `INSERT INTO \`${table}\` (n) VALUES ${ops.map(() => "(?)").join(", ")}`,
        ops.map((n) => n),
      );
      return ops.map((n) => `ok ${n}`);
    },
  };
}

async function markerTable(): Promise<string> {
  const table = `marks_${uid().replace(/-/g, "")}`;
  await env.db.raw(`CREATE TABLE \`${table}\` (n INT NOT NULL, CHECK (n >= 0))`);
  return table;
}

describe("GroupCommitWriter", () => {
  it("writes a lone op at once, in a batch of one", async () => {
    const table = await markerTable();
    const sizes: number[] = [];
    const writer = new GroupCommitWriter(env.db, { connections: 2, maxBatch: 100, onBatch: (n) => sizes.push(n) });
    expect(await writer.submit(markerKind(table), 7)).toBe("ok 7");
    expect(sizes).toEqual([1]);
  });

  it("forms batches under load: 200 concurrent ops in far fewer transactions, each caller its own outcome", async () => {
    const table = await markerTable();
    const sizes: number[] = [];
    const writer = new GroupCommitWriter(env.db, { connections: 2, maxBatch: 100, onBatch: (n) => sizes.push(n) });
    const kind = markerKind(table);
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => writer.submit(kind, i)));
    expect(outcomes).toEqual(Array.from({ length: 200 }, (_, i) => `ok ${i}`));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(200);
    expect(sizes.length).toBeLessThan(20);
    const [rows] = (await env.db.raw(`SELECT COUNT(*) AS n FROM \`${table}\``)) as [Array<{ n: number }>];
    expect(Number(rows[0]?.n)).toBe(200);
  });

  it("fails only the op at fault: the rest of its batch is written one by one", async () => {
    const table = await markerTable();
    const writer = new GroupCommitWriter(env.db, { connections: 1, maxBatch: 100 });
    const kind = markerKind(table);
    // The first op holds the only connection, so the next ten queue into one batch.
    const first = writer.submit(kind, 0);
    const batch = [1, 2, -3, 4, 5, 6, 7, 8, 9, 10].map((n) =>
      writer.submit(kind, n).then(
        (v) => ({ ok: true, v }),
        (err: unknown) => ({ ok: false, v: String(err) }),
      ),
    );
    await first;
    const results = await Promise.all(batch);
    expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, v: expect.stringMatching(/CONSTRAINT|check/i) }]);
    const [rows] = (await env.db.raw(`SELECT n FROM \`${table}\` ORDER BY n`)) as [Array<{ n: number }>];
    expect(rows.map((r) => r.n)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("fails every caller at once when MySQL cannot be reached, so each job retries", async () => {
    const unreachable: Knex = createDb("mysql://root@127.0.0.1:1/nowhere", 2);
    try {
      const writer = new GroupCommitWriter(unreachable, { connections: 1, maxBatch: 100 });
      const kind = markerKind("never");
      const started = Date.now();
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => writer.submit(kind, i)));
      expect(results.every((r) => r.status === "rejected")).toBe(true);
      expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/ECONNREFUSED/);
      // Not twenty connection attempts one after another.
      expect(Date.now() - started).toBeLessThan(4 * 5_000);
    } finally {
      await unreachable.destroy();
    }
  });
});

describe("order writes in a batch", () => {
  it("a replayed order in a batch is answered as it stands, and the others are created and completed", async () => {
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 100, priceCents: 250 }]);
    const writerDb = createDb(env.config.DATABASE_URL, 1, true, { sessionIsolation: "read committed" });
    onTestFinished(() => writerDb.destroy());
    const writer = new GroupCommitWriter(writerDb, { connections: 1, maxBatch: 100 });
    const store = new OrderStore(env.db, writer);
    const clients = Array.from({ length: 8 }, () => `c-${uid()}`);
    await env.db("client_cart").insert(clients.map((c) => ({ client_id: c, product_id: p, quantity: 2 })));
    const replayed = randomUUID();
    const firstRun = await store.createPending(replayed, clients[0] ?? "");
    expect(firstRun.kind).toBe("created");

    // The replay and seven new orders queue behind one op that holds the connection.
    const blocker = store.createPending(randomUUID(), `c-${uid()}`);
    const ids = clients.map((_, i) => (i === 0 ? replayed : randomUUID()));
    const created = await Promise.all(clients.map((c, i) => store.createPending(ids[i] ?? "", c)));
    await blocker;
    expect(created.map((r) => r.kind)).toEqual(["existing", ...Array<string>(7).fill("created")]);

    const orders = created.map((r) => (r.kind === "created" || r.kind === "existing" ? r.order : null));
    const firstComplete = await store.complete(orders[0]!, "ref-0");
    expect(firstComplete).toBe("completed");
    const completed = await Promise.all(orders.map((o, i) => store.complete(o!, `ref-${i}`)));
    expect(completed).toEqual(["already_completed", ...Array<string>(7).fill("completed")]);
    const rows = (await env.db("reserve_purchase").whereIn("reserve_id", ids).select("reserve_id")) as Array<{
      reserve_id: string;
    }>;
    expect(rows).toHaveLength(8);
    expect(await env.db("client_cart").whereIn("client_id", clients)).toEqual([]);
    const failed = await store.failAndRead(ids[1] ?? "", { code: "checkout_failed", reason: "too late" });
    expect(failed).toMatchObject({ changed: false, order: { state: "completed", paymentRef: "ref-1" } });
    await withTransaction(env.db, (trx) => trx("reserve_purchase").whereIn("reserve_id", ids).delete());
  });
});

describe("a worker killed inside a batch's transaction, or between its commit and its callers' next step", () => {
  let api: RunningApi | undefined;
  const workers: WorkerProcess[] = [];

  afterAll(async () => {
    await api?.close();
    await Promise.all(workers.map((w) => w.stop("SIGKILL")));
  });

  it.each([
    ["committed", 1],
    ["mid-batch", 0],
  ] as const)("killed at %s: every order completes once, none lost, none charged twice", async (point, minDurable) => {
    const products = [`p-${uid()}`, `p-${uid()}`];
    await insertProducts(
      env.db,
      products.map((id) => ({ id, quantity: 30, priceCents: 100 })),
    );
    await api?.close();
    api = await startApi(env);
    const clients = Array.from({ length: 24 }, (_, i) => ({ id: `c-${uid()}`, product: products[i % 2] ?? "" }));
    await env.db("client_cart").insert(clients.map((c) => ({ client_id: c.id, product_id: c.product, quantity: 1 })));
    // The only worker kills itself at the point: right after its first batch of commits is
    // durable, before those checkouts commit their holds in Redis; or inside its first
    // batch's transaction, before COMMIT. A fresh worker then takes the jobs over.
    await Promise.all(workers.splice(0).map((w) => w.stop("SIGKILL")));
    await env.redis.del(chaosCrashCounter(env.keys, point));
    const doomed = await spawnWorkerProcess(
      env,
      { CHAOS_CRASH_AT: point, CHAOS_CRASH_LIMIT: "1" },
      "test/chaos/worker-entry.ts",
    );
    workers.push(doomed);
    const answers = await Promise.all(
      clients.map((c) => postJson(`${api!.url}/checkOutCart`, { clientID: c.id }, { prefer: "respond-async" })),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    expect(await doomed.exited).toBeNull(); // killed by a signal, not an exit
    const orderIds = answers.map((a) => String(a.body.orderId));
    // After its commit, that batch's orders are durable; killed inside it, none of its writes are.
    const durableAtCrash = (await env.db("orders").whereIn("order_id", orderIds).where({ state: "completed" })).length;
    expect(durableAtCrash).toBeGreaterThanOrEqual(minDurable);
    workers.push(await spawnWorkerProcess(env));

    await eventually(
      "every order to end",
      async () => {
        const rows = (await env.db("orders").whereIn("order_id", orderIds).select("state")) as Array<{ state: string }>;
        return rows.length === orderIds.length && rows.every((r) => r.state === "completed") ? true : undefined;
      },
      45_000,
    );
    await assertConservation(env, new Map(products.map((p) => [p, 30])));
  });
});
