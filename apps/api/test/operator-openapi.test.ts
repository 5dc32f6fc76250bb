/**
 * The OpenAPI document operators read: linted with Redocly's recommended rules, and
 * covering every route the app registers with its error responses. The metrics operators
 * scrape are operator-metrics.test.ts.
 */
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { buildOpenApi } from "../src/openapi";
import { registeredRoutes } from "./express-routes";
import type { RunningApi } from "../../../test/support/system";
import { useSystem } from "../../../test/support/fixture";

/** The admin surface is enabled, so its routes are in the served document. */
const ADMIN_TOKEN = "openapi-admin-token-0123456789";

let api: RunningApi;

useSystem({ ADMIN_TOKEN }, (system) => ({ api } = system), { workers: false });

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
