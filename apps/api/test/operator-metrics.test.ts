/**
 * What operators scrape and read: the API's Prometheus /metrics (queue depths, checkout
 * outcomes, active holds, HTTP timings, process metrics), a worker process's registry
 * (job counts and durations, reservation latency) served on METRICS_PORT, both checked
 * with promtool; and the OpenAPI document, linted with Redocly's recommended rules and
 * covering every route the app registers.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@oms/shared";
import { createApp } from "../src/app";
import { buildOpenApi } from "../src/openapi";
import { registeredRoutes } from "./express-routes";
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

const PROMTOOL = "/usr/bin/promtool";
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

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (enough of the format for these assertions; promtool checks the rest). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] ?? ""] = l[2] ?? "";
    samples.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and (at least) these labels; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[]; contentType: string }> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  const text = await res.text();
  return { text, samples: parseExposition(text), contentType: res.headers.get("content-type") ?? "" };
}

/**
 * prom-client's default Node.js gauges whose names end in _total; promtool's linter flags
 * them. They are the library's names (dashboards know them), so they are kept.
 */
const ACCEPTED_LINT =
  /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

/**
 * `promtool check metrics` on an exposition: exit 0 when clean, 3 when it parsed but the
 * linter has findings (one line each, starting with the metric name), 1 when it does not parse.
 */
function promtoolCheck(text: string): { status: number | null; output: string; findings: string[] } {
  if (!existsSync(PROMTOOL)) {
    throw new Error(`${PROMTOOL} is missing: install Debian's prometheus package (.ci/run installs it)`);
  }
  const run = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8", timeout: 20_000 });
  const output = `${run.stdout}${run.stderr}`.trim();
  return { status: run.status, output, findings: output ? output.split("\n") : [] };
}

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

// ---------------------------------------------------------------- OpenAPI

/** Every route the app registers, in OpenAPI form, listed here by hand so a route that vanishes from the table is seen. Bull Board and the Swagger UI page are UIs, not API operations. */
const ROUTES: Array<[method: string, path: string]> = [
  ["post", "/addToCart"],
  ["post", "/checkOutCart"],
  ["get", "/cart/{clientID}"],
  ["delete", "/cart/{clientID}"],
  ["put", "/cart/{clientID}/items/{productID}"],
  ["delete", "/cart/{clientID}/items/{productID}"],
  ["get", "/clients/{clientID}/orders"],
  ["get", "/products"],
  ["get", "/products/{productID}"],
  ["get", "/orders/{orderId}"],
  ["post", "/orders/{orderId}/cancel"],
  ["get", "/healthz"],
  ["get", "/readyz"],
  ["get", "/metrics"],
  ["get", "/openapi.json"],
  ["post", "/admin/products"],
  ["post", "/admin/products/{productID}/restock"],
  ["get", "/admin/orders"],
  ["get", "/admin/holds"],
  ["get", "/admin/flushes"],
  ["post", "/admin/jobs/{queue}/retry-failed"],
  ["post", "/admin/reconcile"],
  ["post", "/admin/orders/{orderId}/refund"],
  ["post", "/admin/orders/{orderId}/fulfil"],
  ["post", "/admin/orders/{orderId}/ship"],
  ["post", "/admin/webhooks"],
  ["get", "/admin/webhooks"],
  ["delete", "/admin/webhooks/{id}"],
  ["get", "/admin/webhooks/{id}/deliveries"],
];
const UI_ROUTES = ["/documentation", "/documentation/init.js"];

/** Lint findings the spec keeps on purpose, each with the reason. */
const ACCEPTED_WARNINGS: Array<{ ruleId: string; pointer: RegExp; why: string }> = [
  {
    ruleId: "operation-4xx-response",
    pointer: /^#\/paths\/~1(healthz|readyz|metrics|openapi\.json)\/get\/responses$/,
    why: "probes, metrics and the spec itself take no input and answer no 4xx",
  },
  {
    ruleId: "no-unused-components",
    pointer: /^#\/components\/schemas\/(AddToCartJob|SetCartLineJob|ClearCartJob|CheckoutJob|InventoryJob)$/,
    why: "job payloads are documented for operators reading queues; no operation returns them",
  },
];

interface Operation {
  requestBody?: unknown;
  responses?: Record<string, { description?: string }>;
  security?: unknown[];
}
type Paths = Record<string, Record<string, Operation>>;

describe("OpenAPI", () => {
  const lint = async (spec: unknown) => {
    const config = await createConfig({ extends: ["recommended"] });
    return lintFromString({ source: JSON.stringify(spec), absoluteRef: "openapi.json", config });
  };

  it("passes Redocly's recommended rules: no errors, only the accepted warnings", async () => {
    const served = (await (await fetch(`${api.url}/openapi.json`)).json()) as { openapi: string };
    expect(served.openapi).toBe("3.1.0");
    for (const [source, spec] of [
      ["buildOpenApi", buildOpenApi({ adminEnabled: true })],
      ["GET /openapi.json", served],
      ["admin disabled", buildOpenApi({ adminEnabled: false })],
    ] as const) {
      const problems = await lint(spec);
      const describe = (p: (typeof problems)[number]) =>
        `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ""}: ${p.message}`;
      expect(problems.filter((p) => p.severity === "error").map(describe), source).toEqual([]);
      const unexpected = problems.filter(
        (p) => !ACCEPTED_WARNINGS.some((a) => a.ruleId === p.ruleId && a.pointer.test(p.location[0]?.pointer ?? "")),
      );
      expect(unexpected.map(describe), source).toEqual([]);
    }
  });

  it("the linter reports an error on a broken spec (the check can fail)", async () => {
    const broken = structuredClone(buildOpenApi({ adminEnabled: true })) as { paths: Paths };
    const op = broken.paths["/addToCart"]?.post;
    expect(op).toBeDefined();
    if (op) op.requestBody = { content: { "application/json": { schema: { $ref: "#/components/schemas/Nope" } } } };
    const problems = await lint(broken);
    expect(problems.filter((p) => p.severity === "error").length).toBeGreaterThan(0);
  });

  it("documents every route the app registers, with its error responses", async () => {
    const spec = (await (await fetch(`${api.url}/openapi.json`)).json()) as { paths: Paths };
    const documented = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());

    // The explicit list is what the app really registers (Express :param -> OpenAPI {param}).
    const registered = registeredRoutes(createApp(api.deps))
      .map(([m, p]) => `${m} ${p.replace(/:(\w+)/g, "{$1}")}`)
      .filter((r) => !UI_ROUTES.some((u) => r.endsWith(` ${u}`)));
    expect(registered.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());

    for (const [method, path] of ROUTES) {
      const op = spec.paths[path]?.[method];
      const codes = Object.keys(op?.responses ?? {});
      expect(
        codes.some((c) => c.startsWith("2")),
        `${method} ${path} success`,
      ).toBe(true);
      for (const c of codes) expect(op?.responses?.[c]?.description, `${method} ${path} ${c}`).toBeTruthy();
      expect(op?.security, `${method} ${path} states its security`).toBeDefined();
      if (path.startsWith("/admin")) expect(codes, `${method} ${path}`).toContain("401");
      if (
        [
          "/addToCart",
          "/checkOutCart",
          "/cart/{clientID}",
          "/cart/{clientID}/items/{productID}",
          "/clients/{clientID}/orders",
        ].includes(path)
      ) {
        expect(codes, `${method} ${path}`).toEqual(expect.arrayContaining(["400", "401", "403", "429", "503"]));
      }
      if (op?.requestBody) {
        expect(codes, `${method} ${path} reads a JSON body`).toEqual(expect.arrayContaining(["400", "413", "415"]));
      }
    }
  });
});
