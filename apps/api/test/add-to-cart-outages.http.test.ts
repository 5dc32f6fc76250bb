/**
 * POST /addToCart when the infrastructure fails: no worker on the cart queue (504 with the
 * job id), Redis unreachable or a worker without MySQL (503 with Retry-After), an API
 * closed during an outage, and cart workers that cannot start. Each runs under its own
 * key prefix (see support/add-to-cart-system.ts) so the file's worker cannot take its jobs.
 */
import { connect, createServer, type Socket } from "node:net";
import { withTimeout } from "@oms/shared";
import { describe, expect, it } from "vitest";
import { MYSQL_URL, unreachableRedis } from "../../../test/support/env";
import { startApi, startInProcessWorkers, withEnv } from "../../../test/support/system";
import { add, cartRows, expectFailure, product, uid } from "./support/add-to-cart-calls";
import { closers, env, isolatedPrefix, once, setUpAddToCart } from "./support/add-to-cart-system";

setUpAddToCart();
/** A TCP proxy to 127.0.0.1:<target>; `cut()` closes its port and drops every connection. */
async function startTcpProxy(target: number): Promise<{ port: number; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", drop);
      socket.on("close", () => {
        sockets.delete(socket);
        drop();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  let cut: Promise<void> | undefined;
  return {
    port,
    cut() {
      cut ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return cut;
    },
  };
}

// ---------------------------------------------------------------- infrastructure failures

describe("POST /addToCart: infrastructure failures", () => {
  it("answers 504 with the job id when no worker consumes the cart queue", async () => {
    const prefix = isolatedPrefix("noworker");
    const lonely = await startApi(env, { REDIS_PREFIX: prefix, CART_TIMEOUT_MS: 500 });
    closers.push(() => lonely.close());
    const productID = await product(5);
    const clientID = uid("c");

    const started = Date.now();
    const res = await add(lonely.url, { clientID, productID, quantity: 1 });
    const elapsed = Date.now() - started;

    expectFailure(res, 504, /did not answer in time/);
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(3_000);
    expect(typeof res.body.jobId).toBe("string");
    // The job was queued and still waits for a worker; nothing was added yet.
    expect(await lonely.deps.queues.cart.getJobState(String(res.body.jobId))).toBe("waiting");
    expect(await cartRows(clientID)).toEqual([]);
  });

  it("answers 503 with Retry-After when Redis is unreachable", async () => {
    const { dead } = await apiWithDeadRedis("deadredis");
    const productID = await product(5);
    const clientID = uid("c");

    const started = Date.now();
    const res = await withTimeout(add(dead.url, { clientID, productID, quantity: 1 }), 10_000, "POST /addToCart");

    expectFailure(res, 503, /Redis|queue/);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await cartRows(clientID)).toEqual([]);

    // Validation does not need Redis: a bad request is still a 400.
    expectFailure(await add(dead.url, { clientID, productID, quantity: 0 }), 400, /quantity/);
  });

  it("closes an API whose Redis is unreachable promptly (graceful shutdown during an outage)", async () => {
    const { closeDead } = await apiWithDeadRedis("deadclose");

    await withTimeout(closeDead(), 5_000, "ApiDeps.close() with Redis unreachable");
  });

  it("answers 503 with Retry-After when the worker cannot reach MySQL, after the job's retries", async () => {
    // The worker reaches MySQL through a proxy this test cuts once the worker runs: a
    // worker needs MySQL to start (it checks the stock cache at start-up), so the
    // outage begins after start, as it would in production. After the cut the proxy's
    // port is closed, like DATABASE_URL pointing at 127.0.0.1:1.
    const proxy = await startTcpProxy(Number(new URL(MYSQL_URL).port || 3306));
    closers.push(() => proxy.cut());
    const prefix = isolatedPrefix("nodb");
    const config = withEnv(env.config, {
      REDIS_PREFIX: prefix,
      DATABASE_URL: `mysql://root@127.0.0.1:${proxy.port}/oms_${env.id}`,
      WORKER_QUEUES: "cart",
    });
    const blind = await startInProcessWorkers(env, config);
    closers.push(() => blind.close());
    const front = await startApi(env, { REDIS_PREFIX: prefix });
    closers.push(() => front.close());
    const productID = await product(5);
    const clientID = uid("c");
    await proxy.cut();

    const res = await add(front.url, { clientID, productID, quantity: 1 });

    expectFailure(res, 503, /database|try again/);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await cartRows(clientID)).toEqual([]);
    // The job failed for good, after every attempt the cart queue allows.
    const failed = await front.deps.queues.cart.getFailed();
    expect(failed).toHaveLength(1);
    const job = failed[0]!;
    expect(job.data).toMatchObject({ clientId: clientID, productId: productID, quantity: 1 });
    expect(job.opts.attempts).toBeGreaterThan(1);
    expect(job.attemptsMade).toBe(job.opts.attempts);
  });
});

describe("cart workers that fail to start", () => {
  it("leave nothing consuming the queue when they cannot reach MySQL at start", async () => {
    const prefix = isolatedPrefix("nostart");
    const config = withEnv(env.config, {
      REDIS_PREFIX: prefix,
      DATABASE_URL: "mysql://root@127.0.0.1:1/x",
      WORKER_QUEUES: "cart",
    });
    // Starting needs MySQL (the stock cache is checked at start-up), so this start fails...
    await expect(startInProcessWorkers(env, config)).rejects.toThrow();
    const front = await startApi(env, { REDIS_PREFIX: prefix, CART_TIMEOUT_MS: 1_500 });
    closers.push(() => front.close());

    const res = await add(front.url, { clientID: uid("c"), productID: await product(5), quantity: 1 });

    // ...and a failed start must not leave its BullMQ workers running: nobody takes the job.
    expectFailure(res, 504, /did not answer in time/);
    expect(await front.deps.queues.cart.getJobState(String(res.body.jobId))).toBe("waiting");
  });
});

/** An API started against an unreachable Redis (it must start: it answers 503s), closed after the test. */
async function apiWithDeadRedis(name: string) {
  const dead = await withTimeout(
    startApi(env, { REDIS_PREFIX: isolatedPrefix(name), ...unreachableRedis(env.config) }),
    20_000,
    "starting an API whose Redis is unreachable",
  );
  const closeDead = once(() => dead.close());
  closers.push(closeDead);
  return { dead, closeDead };
}
