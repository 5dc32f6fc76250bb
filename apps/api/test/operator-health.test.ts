/**
 * Health and client protection, against the real Redis and MariaDB: /healthz and /readyz
 * (readiness follows a Redis of our own that we kill and restart), security headers, the
 * body size limit, and the per-client rate limit kept in Redis across API processes.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { freePort, waitFor } from "@oms/shared";
import {
  getJson,
  postJson,
  startApi,
  startInProcessWorkers,
  withEnv,
  type ApiBody,
} from "../../../test/support/system";
import { spawnChild } from "./support/child-processes";
import { api, cleanups, env, product, setUpHealthSystem, uid } from "./support/health-system";

setUpHealthSystem();
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
