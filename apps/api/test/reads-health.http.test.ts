/**
 * Health and the envelope of what is not a route, over HTTP against the real Redis and
 * MariaDB: /healthz, /readyz (ready with a consuming worker, 503 naming the failed check
 * without one), unknown routes and methods answered with a JSON 404, and X-Request-Id.
 */
import { afterAll, describe, expect, it } from "vitest";
import { removeKeysOf } from "../../../test/support/env";
import { getJson, startApi, type RunningApi } from "../../../test/support/system";
import { api, env, setUpReads } from "./support/reads-system";

/** An API under a key prefix that no worker consumes. */
let lonely: RunningApi | undefined;

setUpReads();

// Registered after setUpReads, so it runs before the file's system stops.
afterAll(async () => {
  await lonely?.close();
  if (env) await removeKeysOf(env.redis, `${env.id}_lonely`);
});

describe("health and unknown routes", () => {
  it("GET /healthz answers 200", async () => {
    const res = await getJson(`${api.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("GET /readyz answers 200 with Redis and MySQL up and a worker consuming", async () => {
    const res = await getJson<{ status: string; checks: Record<string, boolean> }>(`${api.url}/readyz`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: "ready", checks: { redis: true, mysql: true } });
    expect(Object.values(res.body.checks).every((ok) => ok === true)).toBe(true);
  });

  it("GET /readyz answers 503 naming the failed check when no worker consumes, while /healthz stays 200", async () => {
    lonely = await startApi(env, { REDIS_PREFIX: `${env.id}_lonely` });

    const ready = await getJson(`${lonely.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: "not ready", checks: { redis: true, mysql: true, workers: false } });
    expect((await getJson(`${lonely.url}/healthz`)).status).toBe(200);
  });

  it("answers an unknown route with a 404 JSON envelope", async () => {
    const res = await getJson(`${api.url}/no/such/route`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: "Failed", error: "no route GET /no/such/route", code: "NOT_FOUND" });
  });

  it("answers a known path with the wrong method with a 404 JSON envelope", async () => {
    const res = await fetch(`${api.url}/products`, { method: "DELETE" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ status: "Failed", error: "no route DELETE /products", code: "NOT_FOUND" });
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const echoed = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": "req-123.abc" } });
    expect(echoed.headers.get("x-request-id")).toBe("req-123.abc");
    const replaced = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": "bad id with spaces" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
