/**
 * POST /addToCart over HTTP, through the real BullMQ queue and a cart worker in this
 * process, against the real Redis and MariaDB. Scenarios that need a different wiring
 * (no worker, dead Redis, a worker without MySQL) run under their own key prefix so
 * the file's worker cannot pick up their jobs.
 */
import { randomUUID } from "node:crypto";
import { connect, createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import type { AddToCartJob } from "@oms/shared";
import { addToCart, type CartDeps } from "../../workers/src/cart/add-to-cart";
import { GroupCommitWriter } from "../../workers/src/db/writer";
import {
  MYSQL_URL,
  createTestEnv,
  insertProducts,
  removeKeysOf,
  unreachableRedis,
  type TestEnv,
} from "../../../test/support/env";
import {
  postJson,
  startApi,
  startInProcessWorkers,
  withEnv,
  type ApiBody,
  type ApiResponse,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;
/** APIs and workers started by single tests, closed in afterAll even when a test fails. */
const closers: Array<() => Promise<void>> = [];
/** Extra key prefixes (hash tags) used by single tests; their keys are removed in afterAll. */
const extraPrefixes: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart"] });
  api = await startApi(env);
});

afterAll(async () => {
  await Promise.all(closers.map((close) => bounded(close(), 15_000).catch(() => undefined)));
  await api?.close();
  await workers?.close();
  if (env) {
    for (const prefix of extraPrefixes) await removeKeysOf(env.redis, prefix);
    await env.close();
  }
});

// ---------------------------------------------------------------- helpers

const uid = (tag: string) => `${tag}-${randomUUID()}`;

async function product(quantity: number, priceCents = 100): Promise<string> {
  const id = uid("p");
  await insertProducts(env.db, [{ id, quantity, priceCents }]);
  return id;
}

async function cartRows(clientId: string): Promise<Array<{ product_id: string; quantity: number }>> {
  return (await env
    .db("client_cart")
    .where({ client_id: clientId })
    .orderBy("product_id")
    .select("product_id", "quantity")) as Array<{ product_id: string; quantity: number }>;
}

async function operationCount(clientId: string): Promise<number> {
  const row = (await env.db("cart_operations").where({ client_id: clientId }).count({ n: "*" }).first()) as
    { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

function add(url: string, body: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return postJson(`${url}/addToCart`, body, headers);
}

/** Sends a raw body with any content type and parses the (always JSON) answer. */
async function postRaw(url: string, body: string, contentType: string): Promise<ApiResponse> {
  const res = await fetch(`${url}/addToCart`, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, body: (await res.json()) as ApiBody, headers: res.headers };
}

/** Every failure keeps the original envelope, says what went wrong, and leaks no internals. */
function expectFailure(res: ApiResponse, status: number, message: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.body.status).toBe("Failed");
  expect(typeof res.body.error).toBe("string");
  expect(res.body.error.length).toBeGreaterThan(0);
  expect(res.body.error).toMatch(message);
  const text = JSON.stringify(res.body);
  expect(text, "the body carries a stack trace").not.toMatch(/\bat .+:\d+:\d+|\\n\s+at |node_modules|\.ts:\d+/);
  expect(text, "the body carries a low-level error").not.toMatch(/ECONNREFUSED|ETIMEDOUT|Knex|SELECT|INSERT/i);
}

function bounded<T>(promise: Promise<T>, ms: number, what = "operation"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

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

/** A close function that runs once; later calls share the first call's promise. */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}

/** A key prefix of this file that no worker of the file consumes. */
function isolatedPrefix(tag: string): string {
  const prefix = `${env.id}_${tag}`;
  extraPrefixes.push(prefix);
  return prefix;
}

// ---------------------------------------------------------------- success

describe("POST /addToCart: success", () => {
  it("answers 200 Success with the cart quantity and the available stock, and stores the row", async () => {
    const productID = await product(10);
    const clientID = uid("c");

    const res = await add(api.url, { clientID, productID, quantity: 3 });

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: "Success", error: "", quantityInCart: 3, available: 10 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 3 }]);
    // Adding to a cart holds nothing: the stock a shopper can still buy is unchanged.
    expect(await env.redis.get(env.keys.stock(productID))).toBe("10");
  });

  it("adds a second add to the quantity already in the cart, as the original service did", async () => {
    const productID = await product(10);
    const clientID = uid("c");

    const first = await add(api.url, { clientID, productID, quantity: 2 });
    const second = await add(api.url, { clientID, productID, quantity: 5 });

    expect(first.body).toEqual({ status: "Success", error: "", quantityInCart: 2, available: 10 });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ status: "Success", error: "", quantityInCart: 7, available: 10 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 7 }]);
    expect(await operationCount(clientID)).toBe(2);
  });

  it("keeps one row per product in a client's cart and leaves other clients' carts alone", async () => {
    const a = await product(10);
    const b = await product(10);
    const clientID = uid("c");
    const other = uid("c");

    expect((await add(api.url, { clientID, productID: a, quantity: 1 })).status).toBe(200);
    expect((await add(api.url, { clientID, productID: b, quantity: 4 })).status).toBe(200);
    expect((await add(api.url, { clientID: other, productID: a, quantity: 9 })).status).toBe(200);

    expect(await cartRows(clientID)).toEqual(
      [
        { product_id: a, quantity: 1 },
        { product_id: b, quantity: 4 },
      ].sort((x, y) => x.product_id.localeCompare(y.product_id)),
    );
    expect(await cartRows(other)).toEqual([{ product_id: a, quantity: 9 }]);
  });

  it("fills the cart up to exactly the available stock", async () => {
    const productID = await product(4);
    const clientID = uid("c");

    const res = await add(api.url, { clientID, productID, quantity: 4 });

    expect(res.body).toEqual({ status: "Success", error: "", quantityInCart: 4, available: 4 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 4 }]);
  });
});

// ---------------------------------------------------------------- 400

describe("POST /addToCart: 400 for invalid input, naming the field", () => {
  const valid = { clientID: "client-1", productID: "product-1", quantity: 1 };
  const cases: Array<[string, unknown, RegExp]> = [
    ["a non-integer quantity (1.5)", { ...valid, quantity: 1.5 }, /quantity.*integer/],
    ["a zero quantity", { ...valid, quantity: 0 }, /quantity.*positive/],
    ["a negative quantity", { ...valid, quantity: -3 }, /quantity.*positive/],
    ["a quantity sent as a string", { ...valid, quantity: "2" }, /quantity/],
    ["a quantity above the maximum", { ...valid, quantity: 1_000_001 }, /quantity.*1000000/],
    ["a missing clientID", { productID: valid.productID, quantity: 1 }, /clientID is required/],
    ["a missing productID", { clientID: valid.clientID, quantity: 1 }, /productID is required/],
    ["a missing quantity", { clientID: valid.clientID, productID: valid.productID }, /quantity is required/],
    ["a clientID longer than 100 characters", { ...valid, clientID: "c".repeat(101) }, /clientID.*100/],
    ["an empty clientID", { ...valid, clientID: "" }, /clientID.*empty/],
    ["an empty productID", { ...valid, productID: "" }, /productID.*empty/],
    ["a blank clientID (only spaces)", { ...valid, clientID: "   " }, /clientID.*empty/],
    ["a clientID with a control character", { ...valid, clientID: "a\u0000b" }, /clientID.*control/],
    ["a numeric productID", { ...valid, productID: 42 }, /productID/],
    ["a JSON array body", [valid], /body.*JSON object/],
    ["a JSON null body", null, /body/],
  ];

  it.each(cases)("rejects %s", async (_name, body, message) => {
    const res = await add(api.url, body);
    expectFailure(res, 400, message);
  });

  it("rejects malformed JSON", async () => {
    const res = await postRaw(api.url, '{"clientID": "c1", "productID": ', "application/json");
    expectFailure(res, 400, /malformed JSON/);
  });

  it("names every invalid field at once", async () => {
    const res = await add(api.url, { clientID: "", quantity: 0 });
    expectFailure(res, 400, /clientID/);
    expect(res.body.error).toMatch(/productID is required/);
    expect(res.body.error).toMatch(/quantity/);
  });

  it("says a quantity of the wrong type is wrong, not that it is missing", async () => {
    const res = await add(api.url, { ...valid, quantity: "2" });
    expectFailure(res, 400, /quantity/);
    // The field is present: telling the client it "is required" sends them looking for the wrong problem.
    expect(res.body.error).not.toMatch(/required/);
    expect(res.body.error).toMatch(/number/);
  });

  it("says a clientID of the wrong type is wrong, not that it is missing", async () => {
    const res = await add(api.url, { ...valid, clientID: 12345 });
    expectFailure(res, 400, /clientID/);
    expect(res.body.error).not.toMatch(/required/);
  });

  it("stores nothing for a rejected request", async () => {
    const productID = await product(10);
    const clientID = uid("c");
    expectFailure(await add(api.url, { clientID, productID, quantity: 0 }), 400, /quantity/);
    expectFailure(await add(api.url, { clientID, productID, quantity: 2.5 }), 400, /quantity/);
    expect(await cartRows(clientID)).toEqual([]);
    expect(await operationCount(clientID)).toBe(0);
  });
});

// ---------------------------------------------------------------- 413 / 415

describe("POST /addToCart: 413 and 415", () => {
  it("answers 415 for a text/plain body", async () => {
    const res = await postRaw(api.url, JSON.stringify({ clientID: "c", productID: "p", quantity: 1 }), "text/plain");
    expectFailure(res, 415, /Content-Type must be application\/json/);
  });

  it("answers 415 for a form-encoded body", async () => {
    const res = await postRaw(api.url, "clientID=c&productID=p&quantity=1", "application/x-www-form-urlencoded");
    expectFailure(res, 415, /Content-Type/);
  });

  it("answers 415 for a JSON body in an unsupported charset", async () => {
    const res = await postRaw(
      api.url,
      JSON.stringify({ clientID: "c", productID: "p", quantity: 1 }),
      "application/json; charset=latin1",
    );
    expectFailure(res, 415, /encoding/);
  });

  it("answers 413 for a body larger than MAX_BODY_BYTES", async () => {
    const clientID = uid("c");
    const body = { clientID, productID: "p", quantity: 1, padding: "x".repeat(env.config.MAX_BODY_BYTES) };
    const res = await add(api.url, body);
    expectFailure(res, 413, /too large/);
    expect(await cartRows(clientID)).toEqual([]);
  });

  it("accepts a body just under MAX_BODY_BYTES (the limit is not off by a lot)", async () => {
    const productID = await product(5);
    const clientID = uid("c");
    const base = JSON.stringify({ clientID, productID, quantity: 1, padding: "" });
    const body = { clientID, productID, quantity: 1, padding: "x".repeat(env.config.MAX_BODY_BYTES - base.length) };
    expect(JSON.stringify(body).length).toBe(env.config.MAX_BODY_BYTES);

    const res = await add(api.url, body);

    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 1 }]);
  });
});

// ---------------------------------------------------------------- 404 / 409

describe("POST /addToCart: business outcomes", () => {
  it("answers 404 for an unknown product, naming it, and stores nothing", async () => {
    const productID = uid("missing");
    const clientID = uid("c");

    const res = await add(api.url, { clientID, productID, quantity: 1 });

    expectFailure(res, 404, new RegExp(`unknown product ${productID}`));
    expect(res.body.productID).toBe(productID);
    expect(await cartRows(clientID)).toEqual([]);
    expect(await operationCount(clientID)).toBe(0);
  });

  it("answers 409 when one add exceeds the available stock, and stores nothing", async () => {
    const productID = await product(5);
    const clientID = uid("c");

    const res = await add(api.url, { clientID, productID, quantity: 6 });

    expectFailure(res, 409, new RegExp(`not enough stock of ${productID}`));
    expect(res.body).toMatchObject({ productID, available: 5 });
    expect(await cartRows(clientID)).toEqual([]);
  });

  it("answers 409 when the cart total would exceed the stock, leaving the cart as it was", async () => {
    const productID = await product(5);
    const clientID = uid("c");
    expect((await add(api.url, { clientID, productID, quantity: 3 })).body.quantityInCart).toBe(3);

    const res = await add(api.url, { clientID, productID, quantity: 3 });

    expectFailure(res, 409, /5 available, the cart would hold 6/);
    expect(res.body).toMatchObject({ productID, available: 5 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 3 }]);
    expect(await operationCount(clientID)).toBe(1);

    // What still fits is accepted.
    const fits = await add(api.url, { clientID, productID, quantity: 2 });
    expect(fits.body).toEqual({ status: "Success", error: "", quantityInCart: 5, available: 5 });
  });

  it("measures the cart against live stock: units held by a checkout are not available", async () => {
    const productID = await product(5);
    const clientID = uid("c");
    const hold = await api.deps.engine.reserve(randomUUID(), [{ productId: productID, quantity: 4 }], 60_000);
    expect(hold).toEqual({ ok: true, replayed: false });

    const res = await add(api.url, { clientID, productID, quantity: 2 });

    expectFailure(res, 409, /1 available/);
    expect(res.body.available).toBe(1);
    expect(await cartRows(clientID)).toEqual([]);
  });
});

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
    const prefix = isolatedPrefix("deadredis");
    const dead = await bounded(
      startApi(env, { REDIS_PREFIX: prefix, ...unreachableRedis(env.config) }),
      20_000,
      "starting an API whose Redis is unreachable",
    );
    const closeDead = once(() => dead.close());
    closers.push(closeDead);
    const productID = await product(5);
    const clientID = uid("c");

    const started = Date.now();
    const res = await bounded(add(dead.url, { clientID, productID, quantity: 1 }), 10_000, "POST /addToCart");

    expectFailure(res, 503, /Redis|queue/);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await cartRows(clientID)).toEqual([]);

    // Validation does not need Redis: a bad request is still a 400.
    expectFailure(await add(dead.url, { clientID, productID, quantity: 0 }), 400, /quantity/);
  });

  it("closes an API whose Redis is unreachable promptly (graceful shutdown during an outage)", async () => {
    const prefix = isolatedPrefix("deadclose");
    const dead = await bounded(
      startApi(env, { REDIS_PREFIX: prefix, ...unreachableRedis(env.config) }),
      20_000,
      "starting an API whose Redis is unreachable",
    );
    const closeDead = once(() => dead.close());
    closers.push(closeDead);

    await bounded(closeDead(), 5_000, "ApiDeps.close() with Redis unreachable");
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

// ---------------------------------------------------------------- replay

describe("cart worker handler: a re-delivered job adds once", () => {
  let writer: GroupCommitWriter | undefined;
  const cartDeps = (): CartDeps => ({
    writer: (writer ??= new GroupCommitWriter(env.db, { connections: 2, maxBatch: 50 })),
    engine: new InventoryEngine(env.redis, env.keys, mysqlTruth(env.db)),
    redis: env.redis,
    keys: env.keys,
  });
  const job = (clientId: string, productId: string, quantity: number): AddToCartJob => ({
    type: "addToCart",
    clientId,
    productId,
    quantity,
  });

  it("applies the same operation id once and answers the replay with the cart as it is", async () => {
    const productID = await product(10);
    const clientID = uid("c");
    const operationId = randomUUID();
    const deps = cartDeps();

    const first = await addToCart(job(clientID, productID, 2), operationId, deps);
    const replay = await addToCart(job(clientID, productID, 2), operationId, deps);

    expect(first).toEqual({ outcome: "added", quantityInCart: 2, available: 10 });
    expect(replay).toEqual({ outcome: "added", quantityInCart: 2, available: 10 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 2 }]);
    expect(await operationCount(clientID)).toBe(1);

    // A different operation is a new add.
    const next = await addToCart(job(clientID, productID, 2), randomUUID(), deps);
    expect(next).toEqual({ outcome: "added", quantityInCart: 4, available: 10 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 4 }]);
  });

  it("adds once when the same operation is delivered twice at the same time", async () => {
    const productID = await product(10);
    const clientID = uid("c");
    const operationId = randomUUID();
    const deps = cartDeps();

    const results = await Promise.allSettled([
      addToCart(job(clientID, productID, 3), operationId, deps),
      addToCart(job(clientID, productID, 3), operationId, deps),
    ]);

    expect(results.some((r) => r.status === "fulfilled")).toBe(true);
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 3 }]);
    expect(await operationCount(clientID)).toBe(1);
    // Whatever the losing delivery did, a further replay still adds nothing.
    expect(await addToCart(job(clientID, productID, 3), operationId, deps)).toEqual({
      outcome: "added",
      quantityInCart: 3,
      available: 10,
    });
  });

  it("answers unknown_product for a product MySQL does not know, storing nothing", async () => {
    const clientID = uid("c");
    const productId = uid("missing");
    const result = await addToCart(job(clientID, productId, 1), randomUUID(), cartDeps());
    expect(result).toEqual({ outcome: "unknown_product", productId });
    expect(await operationCount(clientID)).toBe(0);
  });
});
