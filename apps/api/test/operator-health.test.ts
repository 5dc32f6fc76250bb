/**
 * Health, client protection and lifecycle, against the real Redis and MariaDB:
 * /healthz and /readyz (readiness follows a Redis of our own that we kill and restart),
 * security headers, the body size limit, the per-client rate limit kept in Redis, request
 * ids that follow a request into its jobs and logs, and graceful shutdown of the API and
 * worker processes on SIGTERM. The shared Redis on 6379 is never stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, freePort, waitFor } from "@oms/shared";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  configToEnv,
  getJson,
  postJson,
  spawnWorkerProcess,
  startApi,
  startInProcessWorkers,
  withEnv,
  type ApiBody,
  type InProcessWorkers,
  type RunningApi,
  type WorkerProcess,
} from "../../../test/support/system";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

let env: TestEnv;
let workers: InProcessWorkers;
let api: RunningApi;
/** Processes and servers single tests start, stopped in afterAll even when a test fails. */
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  env = await createTestEnv();
  [workers, api] = await Promise.all([startInProcessWorkers(env), startApi(env)]);
});

afterAll(async () => {
  // Bounded: a client whose Redis a failed test left dead must not hang the file.
  for (const cleanup of cleanups.reverse()) await Promise.race([cleanup().catch(() => undefined), sleep(10_000)]);
  await api?.close();
  await workers?.close();
  await env?.close();
});

// ---------------------------------------------------------------- helpers

const uid = (tag: string) => `${tag}-${randomUUID()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function product(quantity: number, priceCents = 100): Promise<string> {
  const id = uid("p");
  await insertProducts(env.db, [{ id, quantity, priceCents }]);
  return id;
}

/** Resolves with the connection error's code, or "connected" when something accepted the connection. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** A child process whose output is kept, one line per entry. */
interface Child {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function spawnChild(command: string, args: string[], childEnv: Record<string, string>): Child {
  const child = spawn(command, args, { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, lines, exited };
}

/** The JSON log records among a process's output lines. */
function logRecords(lines: string[]): Array<Record<string, unknown>> {
  return lines.flatMap((line) => {
    try {
      const v = JSON.parse(line) as unknown;
      return v && typeof v === "object" ? [v as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

// ---------------------------------------------------------------- health and readiness

describe("health and readiness", () => {
  it("answers /healthz 200 and /readyz 200 with every check true", async () => {
    const health = await getJson(`${api.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("ok");
    const ready = await waitFor(
      "readiness",
      () => getJson(`${api.url}/readyz`),
      (r) => r.status === 200,
      10_000,
    );
    expect(ready.body).toEqual({ status: "ready", checks: { redis: true, mysql: true, workers: true } });
  });

  it("turns not ready when its Redis dies and ready again when it returns and the workers heartbeat", async () => {
    const port = await freePort();
    const startRedis = () =>
      spawnChild(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      );
    const redisUp = async () => {
      const probe = new Redis(port, "127.0.0.1", {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on("error", () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === "PONG";
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    };
    const productID = await product(3);
    let redis = startRedis();
    await waitFor("our redis-server answers", redisUp, Boolean, 10_000);

    const REDIS_URL = `redis://127.0.0.1:${port}`;
    const config = withEnv(env.config, { REDIS_URL });
    expect(config.REDIS_URL).toBe(REDIS_URL);
    const [ownWorkers, ownApi] = await Promise.all([startInProcessWorkers(env, config), startApi(env, config)]);
    cleanups.push(() => ownWorkers.close());
    cleanups.push(() => ownApi.close());
    const readyz = () => getJson<ApiBody & { checks: Record<string, boolean> }>(`${ownApi.url}/readyz`);
    await waitFor("ready on our Redis", readyz, (r) => r.status === 200, 10_000);

    redis.child.kill("SIGKILL");
    await redis.exited;
    const down = await waitFor("not ready once Redis is gone", readyz, (r) => r.status === 503, 5_000);
    expect(down.body.status).toBe("not ready");
    expect(down.body.checks).toMatchObject({ redis: false, mysql: true });
    // What needs Redis answers 503 quickly instead of hanging: live stock, adding to a cart.
    const started = Date.now();
    const stock = await getJson(`${ownApi.url}/products/${productID}`);
    expect(stock.status).toBe(503);
    expect(stock.headers.get("retry-after")).toBeTruthy();
    const add = await postJson(`${ownApi.url}/addToCart`, { clientID: uid("c"), productID, quantity: 1 });
    expect(add.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(6_000);

    redis = startRedis();
    await waitFor("our redis-server is back", redisUp, Boolean, 10_000);
    const back = await waitFor("ready again after Redis returned", readyz, (r) => r.status === 200, 20_000);
    expect(back.body.checks).toEqual({ redis: true, mysql: true, workers: true });
  });
});

// ---------------------------------------------------------------- client protection

describe("client protection", () => {
  it("sets security headers (helmet), hides x-powered-by, and puts a CSP on Swagger UI", async () => {
    for (const res of [
      await fetch(`${api.url}/healthz`),
      await fetch(`${api.url}/addToCart`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      }),
      await fetch(`${api.url}/no/such/route`),
    ]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
      expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
      expect(res.headers.get("x-powered-by")).toBeNull();
    }
    const docs = await fetch(`${api.url}/documentation`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
  });

  it("refuses a body over MAX_BODY_BYTES with 413 and a JSON error", async () => {
    const small = await startApi(env, { MAX_BODY_BYTES: 1024 });
    cleanups.push(() => small.close());
    const body = (size: number) =>
      JSON.stringify({ clientID: "c".repeat(size), productID: "p", quantity: 1 }).slice(0, size + 40);
    const over = await postJson(`${small.url}/addToCart`, body(2_000));
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ status: "Failed", error: "request body too large", code: "PAYLOAD_TOO_LARGE" });
    // Just under the limit the body is read, and then judged on its content (clientID too long).
    const under = await postJson(`${small.url}/addToCart`, {
      clientID: "c".repeat(900),
      productID: "p",
      quantity: 1,
    });
    expect(under.status).toBe(400);
    expect(under.body.error).toMatch(/clientID/);
    // The limit applies to every JSON route, before the route reads the body.
    const checkout = await postJson(`${small.url}/checkOutCart`, body(5_000));
    expect(checkout.status).toBe(413);
  });

  it("limits each client to RATE_LIMIT_PER_MINUTE (429 + Retry-After) across API processes, other clients pass", async () => {
    const limited = await startApi(env, { RATE_LIMIT_PER_MINUTE: 5 });
    const sibling = await startApi(env, { RATE_LIMIT_PER_MINUTE: 5 });
    cleanups.push(() => limited.close());
    cleanups.push(() => sibling.close());
    const a = uid("A");
    const b = uid("B");
    for (let i = 1; i <= 5; i++) {
      const res = await getJson(`${(i % 2 ? limited : sibling).url}/cart/${a}`);
      expect(res.status, `request ${i}`).toBe(200);
    }
    const sixth = await getJson(`${limited.url}/cart/${a}`);
    expect(sixth.status).toBe(429);
    expect(sixth.body.status).toBe("Failed");
    const retryAfter = Number(sixth.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The count lives in Redis: the other API process refuses A too, on every client route.
    expect((await getJson(`${sibling.url}/cart/${a}`)).status).toBe(429);
    expect((await postJson(`${sibling.url}/addToCart`, { clientID: a, productID: "p", quantity: 1 })).status).toBe(429);
    // Another client is not affected.
    const other = await getJson(`${limited.url}/cart/${b}`);
    expect(other.status).toBe(200);
    // The API without a limit configured this low still serves A.
    expect((await getJson(`${api.url}/cart/${a}`)).status).toBe(200);
  });
});

// ---------------------------------------------------------------- request ids

describe("request ids", () => {
  it("echoes X-Request-Id and carries it into the cart and checkout jobs", async () => {
    const clientID = uid("c");
    const productID = await product(5, 200);
    const cartRequest = `req-cart-${randomUUID()}`;
    const added = await postJson(
      `${api.url}/addToCart`,
      { clientID, productID, quantity: 1 },
      { "x-request-id": cartRequest },
    );
    expect(added.status).toBe(200);
    expect(added.headers.get("x-request-id")).toBe(cartRequest);
    const cartJobs = await api.deps.queues.cart.getJobs(["completed", "active", "waiting", "failed"]);
    const cartJob = cartJobs.find((j) => (j.data as { clientId?: string }).clientId === clientID);
    expect(cartJob?.data).toMatchObject({ type: "addToCart", clientId: clientID, requestId: cartRequest });

    const checkoutRequest = `req-checkout-${randomUUID()}`;
    const done = await postJson(`${api.url}/checkOutCart`, { clientID }, { "x-request-id": checkoutRequest });
    expect(done.status).toBe(200);
    expect(done.headers.get("x-request-id")).toBe(checkoutRequest);
    const job = await api.deps.queues.checkout.getJob(String(done.body.orderId));
    expect(job?.data).toMatchObject({ orderId: done.body.orderId, requestId: checkoutRequest });
  });

  it("makes up a request id when none (or an unusable one) is given", async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const none = await fetch(`${api.url}/healthz`);
    expect(none.headers.get("x-request-id")).toMatch(uuid);
    for (const bad of ["has spaces in it", "x".repeat(101), "semi;colon"]) {
      const res = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": bad } });
      expect(res.headers.get("x-request-id"), bad).toMatch(uuid);
    }
    const two = await Promise.all([fetch(`${api.url}/healthz`), fetch(`${api.url}/healthz`)]);
    expect(two[0].headers.get("x-request-id")).not.toBe(two[1].headers.get("x-request-id"));
  });
});

// ---------------------------------------------------------------- graceful shutdown

describe("graceful shutdown", () => {
  /** Own database and key prefix: the in-process workers above must not take these jobs. */
  let shutdownEnv: TestEnv;

  let apiProc: Child & { port: number };
  let worker: WorkerProcess;

  beforeAll(async () => {
    shutdownEnv = await createTestEnv({ PAYMENT_SIM_LATENCY_MS: "1500", SHUTDOWN_GRACE_MS: "10000" });
    [apiProc, worker] = await Promise.all([spawnApi(), spawnWorkerProcess(shutdownEnv)]);
    cleanups.push(() => worker.stop("SIGKILL"));
  });
  afterAll(async () => {
    await shutdownEnv?.close();
  });

  async function spawnApi(): Promise<Child & { port: number }> {
    const port = await freePort();
    const proc = spawnChild(process.execPath, ["--import", "tsx", "apps/api/src/main.ts"], {
      ...(process.env as Record<string, string>),
      ...configToEnv(shutdownEnv.config),
      LOG_LEVEL: "info",
      PORT: String(port),
      CHECKOUT_TIMEOUT_MS: "20000",
    });
    await waitFor(
      "the API process answers /healthz",
      async () => {
        const code = proc.child.exitCode;
        if (code !== null) throw new Error(`API process exited with ${code}:\n${proc.lines.join("\n")}`);
        return fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      (ok) => ok,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${proc.lines.join("\n")}`);
    });
    return { ...proc, port };
  }

  async function activeCheckouts(): Promise<number> {
    return shutdownEnv.redis.llen(`${shutdownEnv.keys.queuePrefix("checkout")}:checkout:active`);
  }

  it("on SIGTERM the API finishes the in-flight checkout, refuses new connections and exits 0; the worker drains and exits 0", async () => {
    const workerLines: string[] = [];
    worker.child.stdout?.on("data", (c: Buffer) => workerLines.push(...c.toString().split("\n").filter(Boolean)));
    const url = `http://127.0.0.1:${apiProc.port}`;

    const clientID = uid("c");
    const productID = uid("p");
    await insertProducts(shutdownEnv.db, [{ id: productID, quantity: 5, priceCents: 700 }]);
    expect((await postJson(`${url}/addToCart`, { clientID, productID, quantity: 2 })).status).toBe(200);

    const requestId = `req-shutdown-${randomUUID()}`;
    const inFlight = postJson(`${url}/checkOutCart`, { clientID }, { "x-request-id": requestId });
    // The payment takes 1.5 s: signal both processes while the checkout is being worked on.
    await waitFor("the checkout job is active", activeCheckouts, (n) => n === 1, 10_000);
    apiProc.child.kill("SIGTERM");
    worker.child.kill("SIGTERM");
    await sleep(200);
    expect(await tryConnect(apiProc.port)).toBe("ECONNREFUSED");

    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "Success", state: "completed", totalCents: 1400 });
    expect(answer.headers.get("x-request-id")).toBe(requestId);

    const bounded = (p: Promise<number | null>) =>
      Promise.race([p, sleep(15_000).then(() => "still running after 15 s")]);
    expect(await bounded(apiProc.exited)).toBe(0);
    expect(await bounded(worker.exited)).toBe(0);
    expect(logRecords(apiProc.lines).some((r) => r.signal === "SIGTERM")).toBe(true);

    // The worker's structured log of that order carries the request's id.
    const completed = logRecords(workerLines).find((r) => r.msg === "order completed");
    expect(completed).toMatchObject({ requestId, clientId: clientID, orderId: answer.body.orderId });
    const order = (await shutdownEnv.db("orders").where({ order_id: answer.body.orderId }).first()) as {
      state: string;
    };
    expect(order.state).toBe("completed");
  });

  it("a worker whose job outlasts SHUTDOWN_GRACE_MS hands it back and exits within the bound", async () => {
    const grace = 1_000;
    const slow: WorkerProcess = await spawnWorkerProcess(shutdownEnv, {
      WORKER_QUEUES: "checkout",
      PAYMENT_SIM_LATENCY_MS: "20000",
      SHUTDOWN_GRACE_MS: String(grace),
    });
    cleanups.push(() => slow.stop("SIGKILL"));
    const clientId = uid("c");
    const productId = uid("p");
    await insertProducts(shutdownEnv.db, [{ id: productId, quantity: 5, priceCents: 100 }]);
    await shutdownEnv.db("client_cart").insert({ client_id: clientId, product_id: productId, quantity: 1 });
    const queue = createQueue("checkout", shutdownEnv.redis, shutdownEnv.keys, shutdownEnv.config);
    cleanups.push(() => queue.close());
    const orderId = randomUUID();
    await queue.add("checkout", { type: "checkout", orderId, clientId, paymentToken: "tok_ok" }, { jobId: orderId });
    await waitFor("the slow checkout is active", activeCheckouts, (n) => n === 1, 10_000);

    // The payment takes 20 s; the worker may take the grace time plus a few seconds to close, no more.
    const bound = grace + 5_000;
    slow.child.kill("SIGTERM");
    const code = await Promise.race([
      slow.exited,
      sleep(bound).then(() => `still running ${bound} ms after SIGTERM (SHUTDOWN_GRACE_MS ${grace})`),
    ]);
    expect(code).toBe(0);
    // Not finished and not lost: still active under a lock that lapses, so another worker takes it.
    const job = await queue.getJob(orderId);
    expect(await job?.getState()).toBe("active");
    expect(job?.finishedOn).toBeUndefined();
  });
});
