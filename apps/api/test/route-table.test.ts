/**
 * The route table is the one list of routes: every Express route comes from it (none is
 * wired by hand), every entry is in the OpenAPI document with each header it reads and
 * answers, the metrics label each by its path, and a handler cannot read a header its
 * route does not declare.
 */
import type { AddressInfo } from "node:net";
import express from "express";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { buildOpenApi, responsesOf } from "../src/openapi";
import { mountRoutes } from "../src/http/mount";
import { RouteLabels } from "../src/http/route-labels";
import { routeTable, type RouteSpec } from "../src/routes";
import { requestHeaders, responseHeaders } from "../src/routes/headers";
import { type RunningApi } from "../../../test/support/system";
import { registeredRoutes } from "./express-routes";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "route-table-admin-token-0123";
/** The UIs: mounted beside the table, not API operations. */
const UI_ROUTES = ["get /documentation", "get /documentation/init.js"];

let api: RunningApi;

useSystem({ ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: "0" }, (system) => ({ api } = system), { workers: false });

interface Ref {
  $ref: string;
}
interface Operation {
  operationId: string;
  parameters: Array<Ref | { name: string; in: string }>;
  responses: Record<string, { headers?: Record<string, Ref> }>;
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { parameters: Record<string, { name: string; in: string }>; headers: Record<string, unknown> };
}

const table = (adminEnabled: boolean) => routeTable({ adminEnabled, document: () => ({}) });
const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

/** The header parameters an operation declares, by name, with each reference resolved. */
function headersRead(doc: Doc, op: Operation): string[] {
  return op.parameters
    .map((p) => ("$ref" in p ? doc.components.parameters[p.$ref.split("/").pop() ?? ""] : p))
    .filter((p) => p?.in === "header")
    .map((p) => p?.name ?? "");
}

/** The response headers one answer declares; each must resolve to a component. */
function headersAnswered(doc: Doc, op: Operation, status: string): string[] {
  const headers = op.responses[status]?.headers ?? {};
  for (const ref of Object.values(headers))
    expect(doc.components.headers).toHaveProperty(ref.$ref.split("/").pop() ?? "");
  return Object.keys(headers);
}

describe.each([true, false])("the route table (admin enabled: %s)", (adminEnabled) => {
  const routes = table(adminEnabled);
  const doc = buildOpenApi({ adminEnabled }) as unknown as Doc;
  const op = (route: RouteSpec) => doc.paths[openApiPath(route.path)]?.[route.method];

  it("is what Express serves: every registered route is in the table and every entry registered", () => {
    const config = { ...api.deps.config, ADMIN_TOKEN: adminEnabled ? ADMIN_TOKEN : undefined };
    const registered = registeredRoutes(createApp({ ...api.deps, config }))
      .map(([method, path]) => `${method} ${path}`)
      .filter((r) => !UI_ROUTES.includes(r));
    expect(registered.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    expect(new Set(routes.map((r) => r.operationId)).size).toBe(routes.length);
  });

  it("is what the OpenAPI document lists: every entry with the headers it reads and answers", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${openApiPath(r.path)}`).sort());
    for (const route of routes) {
      const operation = op(route);
      expect(operation?.operationId, route.path).toBe(route.operationId);
      if (!operation) continue;
      expect(headersRead(doc, operation).sort(), route.operationId).toEqual(requestHeaders(route).sort());
      for (const [status, spec] of Object.entries(responsesOf(route)))
        expect(headersAnswered(doc, operation, status).sort(), `${route.operationId} ${status}`).toEqual(
          responseHeaders(route, status, spec).sort(),
        );
    }
  });

  it("declares the headers the API reads and answers where it does", () => {
    for (const route of routes) {
      const operation = op(route);
      if (!operation) throw new Error(`${route.operationId} is not documented`);
      const read = headersRead(doc, operation);
      expect(read, route.operationId).toContain("X-Request-Id");
      if (route.auth === "admin" && route.method === "post")
        expect(read, route.operationId).toContain("Idempotency-Key");
      for (const status of Object.keys(operation.responses)) {
        const answered = headersAnswered(doc, operation, status);
        const what = `${route.operationId} ${status}`;
        if (status !== "408") expect(answered, what).toContain("X-Request-Id");
        if (status === "429" || (status === "503" && route.auth !== "none"))
          expect(answered, what).toContain("Retry-After");
        if (status.startsWith("2") && read.includes("Idempotency-Key"))
          expect(answered, what).toContain("Idempotent-Replayed");
      }
    }
    const checkout = routes.find((r) => r.operationId === "checkOutCart");
    const checkoutOp = checkout && op(checkout);
    expect(checkoutOp && headersRead(doc, checkoutOp)).toEqual(
      expect.arrayContaining(["Idempotency-Key", "Prefer", "X-Request-Id"]),
    );
    expect(checkoutOp && headersAnswered(doc, checkoutOp, "202")).toContain("Location");
  });

  it("labels each entry's requests in the metrics by the entry's path", () => {
    const labels = new RouteLabels();
    mountRoutes(api.deps, routes, { app: express.Router(), admin: express.Router(), labels });
    for (const route of routes) {
      const concrete = route.path.replace(/:(\w+)/g, "Some-$1").toUpperCase();
      expect(labels.label(`${concrete}?x=1`), route.path).toBe(route.path);
    }
  });
});

describe("a handler", () => {
  it("cannot read a header its route does not declare (500), and reads one it declares", async () => {
    const reading = (operationId: string, reads: RouteSpec["reads"]): RouteSpec => ({
      method: "get",
      path: `/${operationId}`,
      operationId,
      summary: "test",
      tag: "operations",
      auth: "none",
      ...(reads ? { reads } : {}),
      responses: {},
      handler: (_deps, req) => ({ status: 200, body: { prefer: req.header("Prefer") ?? null } }),
    });
    const app = express();
    const routes = [reading("undeclared", undefined), reading("declared", ["Prefer"])];
    mountRoutes(api.deps, routes, { app, admin: undefined, labels: new RouteLabels() });
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: "refused" });
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const headers = { prefer: "respond-async" };
      expect((await fetch(`${url}/undeclared`, { headers })).status).toBe(500);
      const declared = await fetch(`${url}/declared`, { headers });
      expect(await declared.json()).toEqual({ prefer: "respond-async" });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
