/**
 * `npx tsx bench/diagnose.ts [cart-locks|create-pending|saga-cost] [--n N]`: MySQL micro-benchmarks
 * behind the benchmark's findings (docs/benchmark.md), in a throw-away database.
 *
 * - cart-locks: the add-to-cart transaction of apps/workers/src/cart/add-to-cart.ts
 *   (SELECT ... FOR UPDATE of the client's row, then INSERT ... ON DUPLICATE KEY UPDATE)
 *   for new clients, under REPEATABLE READ (as shipped), READ COMMITTED, and without the
 *   FOR UPDATE; with sequential and with scattered client ids. Counts deadlocks (no retry).
 * - create-pending: OrderStore.createPending (locks the cart rows joined with their
 *   product rows) against the same transaction locking the cart rows only, one hot product.
 * - saga-cost: the checkout saga (runCheckout, as the workers run it) in this process for
 *   N one-line carts of one hot product, 50 at a time: SQL statements and Redis commands
 *   per checkout, and this process's CPU per checkout.
 */
import { randomUUID } from "node:crypto";
import { createDb, createLogger, loadConfig, withTransaction, type CheckoutJob, type Knex } from "@oms/shared";
import { OrderStore, createWorkerDeps, runCheckout } from "@oms/workers";
import { sagaDeps } from "../apps/workers/src/processors";
import { clientId } from "./stats";
import { World } from "./world";

type Row = Record<string, number>;

async function innodb(db: Knex): Promise<Row> {
  const [rows] = (await db.raw(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits','Innodb_row_lock_time','Innodb_deadlocks')",
  )) as [Array<{ Variable_name: string; Value: string }>];
  return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
}

async function pool<T>(concurrency: number, n: number, fn: (i: number) => Promise<T>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

async function cartLocks(world: World, n: number): Promise<void> {
  await world.seedProducts([{ id: "p1", quantity: 1_000_000 }]);
  const variants = [
    { name: "REPEATABLE READ (as shipped)", forUpdate: true, isolation: undefined },
    { name: "READ COMMITTED", forUpdate: true, isolation: "read committed" as const },
    { name: "REPEATABLE READ, no FOR UPDATE", forUpdate: false, isolation: undefined },
  ];
  console.log("add-to-cart transaction, new clients, one product; deadlocks are not retried here");
  for (const ids of ["sequential", "scattered"] as const) {
    for (const v of variants) {
      for (const concurrency of [4, 16, 50]) {
        await world.db("client_cart").delete();
        await world.db("cart_operations").delete();
        const db = createDb(world.databaseUrl, concurrency);
        let deadlocks = 0;
        const tag = `${v.name.length}${concurrency}${ids[0]}`;
        const seconds = await pool(concurrency, n, async (i) => {
          const client = ids === "sequential" ? `c-${tag}-${i}` : clientId(`c-${tag}-`, i);
          const op = randomUUID();
          try {
            await db.transaction(
              async (trx) => {
                if (v.forUpdate)
                  await trx("client_cart").where({ client_id: client, product_id: "p1" }).forUpdate().first("quantity");
                await trx("cart_operations").where({ operation_id: op }).first("operation_id");
                await trx("cart_operations").insert({ operation_id: op, client_id: client });
                await trx.raw(
                  "INSERT INTO client_cart (client_id, product_id, quantity) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity)",
                  [client, "p1", 1],
                );
              },
              v.isolation ? { isolationLevel: v.isolation } : {},
            );
          } catch (err) {
            if ((err as { code?: string }).code !== "ER_LOCK_DEADLOCK") throw err;
            deadlocks++;
          }
        });
        await db.destroy();
        console.log(
          `  ${ids.padEnd(10)} ids  ${v.name.padEnd(31)} concurrency ${String(concurrency).padStart(2)}: ` +
            `${deadlocks}/${n} deadlocked (${((100 * deadlocks) / n).toFixed(1)} %), ${((n - deadlocks) / seconds).toFixed(0)} commits/s`,
        );
      }
    }
  }
}

async function createPending(world: World, n: number, concurrency: number): Promise<void> {
  await world.seedProducts([{ id: "hot", quantity: 100_000_000 }]);
  console.log(`snapshot of a one-line cart (one hot product) into a pending order, ${concurrency} connections`);
  for (const variant of ["OrderStore.createPending (cart JOIN product_details FOR UPDATE)", "cart rows locked only"]) {
    const tag = variant.startsWith("Order") ? "a-" : "b-";
    await world.seedCarts(
      Array.from({ length: n }, (_, i) => ({ clientId: clientId(tag, i), lines: [{ productId: "hot", quantity: 1 }] })),
    );
    const db = createDb(world.databaseUrl, concurrency);
    const store = new OrderStore(db);
    await Promise.all(Array.from({ length: concurrency }, () => db.raw("SELECT 1")));
    const before = await innodb(world.db);
    const seconds = await pool(concurrency, n, async (i) => {
      const client = clientId(tag, i);
      const orderId = randomUUID();
      if (tag === "a-") {
        await store.createPending(orderId, client);
        return;
      }
      await withTransaction(db, async (trx) => {
        const lines = (await trx("client_cart")
          .where({ client_id: client })
          .orderBy("product_id")
          .forUpdate()
          .select("product_id", "quantity")) as Array<{ product_id: string; quantity: number }>;
        const prices = (await trx("product_details")
          .whereIn(
            "product_id",
            lines.map((l) => l.product_id),
          )
          .select("product_id", "price_cents")) as Array<{ product_id: string; price_cents: number }>;
        const price = new Map(prices.map((p) => [p.product_id, p.price_cents]));
        await trx("orders").where({ client_id: client, state: "pending" }).first("order_id");
        await trx("orders").insert({ order_id: orderId, client_id: client, state: "pending", total_cents: 0 });
        await trx("order_items").insert(
          lines.map((l) => ({
            order_id: orderId,
            product_id: l.product_id,
            quantity: l.quantity,
            unit_price_cents: price.get(l.product_id) ?? 0,
          })),
        );
        await trx("orders").where({ order_id: orderId }).first();
        await trx("order_items").where({ order_id: orderId });
      });
    });
    const after = await innodb(world.db);
    await db.destroy();
    const waits = (after.Innodb_row_lock_waits ?? 0) - (before.Innodb_row_lock_waits ?? 0);
    const waited = ((after.Innodb_row_lock_time ?? 0) - (before.Innodb_row_lock_time ?? 0)) / 1000;
    const deadlocks = (after.Innodb_deadlocks ?? 0) - (before.Innodb_deadlocks ?? 0);
    console.log(
      `  ${variant.padEnd(62)} ${(n / seconds).toFixed(0)} orders/s, ${waits} row-lock waits (${waited.toFixed(1)} s waited), ${deadlocks} deadlocks (retried)`,
    );
  }
  console.log("  (lock counters are the server's: other clients of a shared MariaDB add to them)");
}

async function sagaCost(world: World, n: number): Promise<void> {
  const deps = createWorkerDeps(
    loadConfig({ ...world.env(), LOG_LEVEL: "silent", PAYMENT_SIM_LATENCY_MS: "0", SEED_ON_START: "false" }),
    createLogger("silent", "diagnose"),
  );
  try {
    await world.redis.set(world.keys.epoch, "diagnose");
    await world.seedProducts([{ id: "hot", quantity: n }]);
    const jobs: CheckoutJob[] = Array.from({ length: n }, (_, i) => ({
      type: "checkout",
      orderId: randomUUID(),
      clientId: clientId("c-", i),
      paymentToken: "tok_ok",
    }));
    await world.seedCarts(jobs.map((j) => ({ clientId: j.clientId, lines: [{ productId: "hot", quantity: 1 }] })));

    const statements = new Map<string, number>();
    deps.db.on("query", (q: { sql: string }) => {
      const kind = /^\s*(\w+(?:\s+\w+)?)/.exec(q.sql)?.[1]?.toLowerCase() ?? "?";
      statements.set(kind, (statements.get(kind) ?? 0) + 1);
    });
    const commands = new Map<string, number>();
    const send = deps.redis.sendCommand.bind(deps.redis);
    deps.redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      commands.set(command.name, (commands.get(command.name) ?? 0) + 1);
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof deps.redis.sendCommand;

    const saga = sagaDeps(deps);
    const outcomes = new Map<string, number>();
    const cpu = process.cpuUsage();
    const seconds = await pool(50, n, async (i) => {
      const job = jobs[i];
      if (!job) return;
      const { outcome } = await runCheckout(job, saga);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    });
    const used = process.cpuUsage(cpu);
    const per = (m: Map<string, number>) =>
      [...m].map(([k, v]) => `${k} ${(v / n).toFixed(2)}`).join(", ") +
      ` (total ${([...m.values()].reduce((a, b) => a + b, 0) / n).toFixed(2)})`;
    console.log(`checkout saga, ${n} one-line carts of one hot product, 50 at a time, in this process`);
    console.log(`  outcomes: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(", ")}`);
    console.log(
      `  ${(n / seconds).toFixed(0)} checkouts/s, ${((used.user + used.system) / 1000 / n).toFixed(2)} ms CPU each`,
    );
    console.log(`  SQL statements per checkout: ${per(statements)}`);
    console.log(`  Redis commands per checkout: ${per(commands)}`);
  } finally {
    await deps.close();
  }
}

async function main(): Promise<void> {
  const what = process.argv[2] ?? "cart-locks";
  const nArg = process.argv.indexOf("--n");
  const n = nArg > 0 ? Number(process.argv[nArg + 1]) : 400;
  const world = await World.create();
  try {
    if (what === "cart-locks") await cartLocks(world, n);
    else if (what === "create-pending") await createPending(world, n, 40);
    else if (what === "saga-cost") await sagaCost(world, n);
    else throw new Error("usage: npx tsx bench/diagnose.ts [cart-locks|create-pending|saga-cost] [--n N]");
  } finally {
    await world.destroy();
  }
}

main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  await World.destroyAll();
  process.exit(1);
});
