/**
 * What operators scrape: the API's Prometheus /metrics (queue depths, checkout outcomes,
 * active holds, HTTP timings, process metrics) and a worker process's registry (job counts
 * and durations, reservation latency) served on METRICS_PORT, both checked with promtool.
 * The OpenAPI document operators read is operator-openapi.test.ts.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@oms/shared";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  postJson,
  spawnWorkerProcess,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
  type WorkerProcess,
} from "../../../test/support/system";
import { parseExposition, promtoolCheck, scrape, valueOf } from "./support/metrics-exposition";

const ADMIN_TOKEN = "metrics-admin-token-0123456789";

let env: TestEnv;
let api: RunningApi;
/** Checkout and inventory in this process; cart in a separate process that serves METRICS_PORT. */
let workers: InProcessWorkers;
let cartProcess: WorkerProcess;
let metricsPort: number;

beforeAll(async () => {
  env = await createTestEnv({ ADMIN_TOKEN });
  metricsPort = await freePort();
  [workers, cartProcess, api] = await Promise.all([
    startInProcessWorkers(env, { WORKER_QUEUES: ["checkout", "inventory"] }),
    spawnWorkerProcess(env, { WORKER_QUEUES: "cart", METRICS_PORT: String(metricsPort) }),
    startApi(env),
  ]);
});

afterAll(async () => {
  await cartProcess?.stop();
  await api?.close();
  await workers?.close();
  await env?.close();
});

// ---------------------------------------------------------------- helpers

/**
 * prom-client's default Node.js gauges whose names end in _total; promtool's linter flags
 * them. They are the library's names (dashboards know them), so they are kept.
 */
const ACCEPTED_LINT =
  /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

async function checkoutOnce(): Promise<void> {
  const clientID = `c-${randomUUID()}`;
  const productID = `p-${randomUUID()}`;
  await insertProducts(env.db, [{ id: productID, quantity: 10, priceCents: 300 }]);
  const added = await postJson(`${api.url}/addToCart`, { clientID, productID, quantity: 2 });
  expect(added.status, JSON.stringify(added.body)).toBe(200);
  const done = await postJson(`${api.url}/checkOutCart`, { clientID, paymentToken: "tok_ok" });
  expect(done.status, JSON.stringify(done.body)).toBe(200);
  expect(done.body).toMatchObject({ state: "completed", totalCents: 600 });
}

// ---------------------------------------------------------------- Prometheus

describe("Prometheus metrics", () => {
  it("the API's /metrics counts a completed checkout, shows every queue, HTTP timings and process metrics", async () => {
    const before = await scrape(`${api.url}/metrics`);
    const completedBefore = valueOf(before.samples, "oms_checkout_outcomes", { outcome: "completed" });
    expect(completedBefore).toBe(0);

    await checkoutOnce();

    const after = await scrape(`${api.url}/metrics`);
    expect(after.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = after.samples;
    expect(valueOf(s, "oms_checkout_outcomes", { outcome: "completed" })).toBe(1);
    expect(valueOf(s, "oms_checkout_outcomes", { outcome: "declined" })).toBe(0);
    for (const queue of ["cart", "checkout", "inventory"]) {
      for (const state of ["waiting", "active", "delayed", "completed", "failed"]) {
        expect(valueOf(s, "oms_queue_jobs", { queue, state }), `${queue} ${state}`).toEqual(expect.any(Number));
      }
    }
    expect(valueOf(s, "oms_queue_jobs", { queue: "checkout", state: "completed" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(s, "oms_queue_jobs", { queue: "cart", state: "completed" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(s, "oms_active_holds")).toBe(0);
    expect(valueOf(s, "oms_live_workers")).toBeGreaterThanOrEqual(2);
    expect(
      valueOf(s, "oms_http_request_duration_seconds_count", { method: "POST", route: "/checkOutCart", status: "200" }),
    ).toBe(1);
    expect(
      valueOf(s, "oms_http_request_duration_seconds_count", { method: "POST", route: "/addToCart", status: "200" }),
    ).toBe(1);
    expect(
      valueOf(s, "oms_http_request_duration_seconds_bucket", {
        method: "POST",
        route: "/checkOutCart",
        status: "200",
        le: "+Inf",
      }),
    ).toBe(1);
    expect(valueOf(s, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(valueOf(s, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(s.every((x) => x.labels.component === "api")).toBe(true);

    // A live stock hold shows up in oms_active_holds.
    const held = `p-${randomUUID()}`;
    await insertProducts(env.db, [{ id: held, quantity: 3 }]);
    const hold = await api.deps.engine.reserve(randomUUID(), [{ productId: held, quantity: 1 }], 60_000);
    expect(hold.ok).toBe(true);
    expect(valueOf((await scrape(`${api.url}/metrics`)).samples, "oms_active_holds")).toBe(1);

    // Routes are labelled by pattern, never by the raw path (bounded cardinality).
    await fetch(`${api.url}/products/p-${randomUUID()}`);
    await fetch(`${api.url}/no/such/${randomUUID()}`);
    const routes = new Set(
      (await scrape(`${api.url}/metrics`)).samples
        .filter((x) => x.name === "oms_http_request_duration_seconds_count")
        .map((x) => x.labels.route),
    );
    expect(routes).toContain("/products/:productID");
    expect(routes).toContain("other");
    expect([...routes].filter((r) => r?.includes("p-"))).toEqual([]);
  });

  it("the workers' registries count jobs, their durations and reservation latency", async () => {
    await checkoutOnce();

    // In this process: checkout and inventory.
    const inProcess = parseExposition(await workers.deps.metrics.registry.metrics());
    expect(valueOf(inProcess, "oms_jobs_total", { queue: "checkout", outcome: "completed" })).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(inProcess, "oms_job_duration_seconds_count", { queue: "checkout", outcome: "completed" }),
    ).toBeGreaterThanOrEqual(1);
    expect(valueOf(inProcess, "oms_reservation_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(valueOf(inProcess, "oms_jobs_total", { queue: "cart", outcome: "completed" })).toBeUndefined();

    // The separate worker process consumed the cart jobs and serves its registry on METRICS_PORT.
    const remote = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(valueOf(remote.samples, "oms_jobs_total", { queue: "cart", outcome: "completed" })).toBeGreaterThanOrEqual(
      2,
    );
    expect(
      valueOf(remote.samples, "oms_job_duration_seconds_count", { queue: "cart", outcome: "completed" }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      valueOf(remote.samples, "oms_job_duration_seconds_bucket", { queue: "cart", outcome: "completed", le: "+Inf" }),
    ).toBeGreaterThanOrEqual(2);
    expect(valueOf(remote.samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(remote.samples.every((x) => x.labels.component === "worker")).toBe(true);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("every exposition passes promtool check metrics", async () => {
    await checkoutOnce();
    const expositions = {
      api: (await scrape(`${api.url}/metrics`)).text,
      "in-process workers": await workers.deps.metrics.registry.metrics(),
      "worker process": (await scrape(`http://127.0.0.1:${metricsPort}/metrics`)).text,
    };
    for (const [source, text] of Object.entries(expositions)) {
      const result = promtoolCheck(text);
      expect(result.output, `promtool on the ${source} exposition`).not.toMatch(/error while linting|parsing error/);
      expect([0, 3], `promtool on the ${source} exposition: ${result.output}`).toContain(result.status);
      // Our own metrics lint clean; only prom-client's known default names are flagged.
      expect(
        result.findings.filter((f) => f.startsWith("oms_")),
        source,
      ).toEqual([]);
      expect(
        result.findings.filter((f) => !ACCEPTED_LINT.test(f)),
        source,
      ).toEqual([]);
    }
  });

  it("promtool does catch a broken exposition (the check can fail)", () => {
    const broken = promtoolCheck('# TYPE oms_x counter\noms_x{queue="cart" 1\n');
    expect(broken.status).toBe(1);
    expect(broken.output).toMatch(/parsing error/);
    const misnamed = promtoolCheck("# HELP oms_depth_total Depth\n# TYPE oms_depth_total gauge\noms_depth_total 1\n");
    expect(misnamed.status).toBe(3);
    expect(misnamed.findings).toEqual([expect.stringMatching(/^oms_depth_total non-counter/)]);
  });
});
