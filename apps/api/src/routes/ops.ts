import { z } from "zod";
import { healthz, readyz } from "../handlers/health";
import type { RouteSpec } from "./types";
import { Health } from "./schemas";

/** Probes, metrics and this API's own document; `document` is the OpenAPI built from the table. */
export function opsRoutes(document: () => unknown): RouteSpec[] {
  return [
    {
      method: "get",
      path: "/healthz",
      operationId: "healthz",
      summary: "The process is alive",
      tag: "operations",
      auth: "none",
      responses: { "200": { description: "Alive", schema: Health } },
      handler: () => healthz(),
    },
    {
      method: "get",
      path: "/readyz",
      operationId: "readyz",
      summary: "Redis and MySQL answer and workers are consuming",
      tag: "operations",
      auth: "none",
      responses: {
        "200": { description: "Ready", schema: Health },
        "503": { description: "Not ready; checks say which part", schema: Health },
      },
      handler: (deps) => readyz(deps),
    },
    {
      method: "get",
      path: "/metrics",
      operationId: "metrics",
      summary: "Prometheus metrics",
      tag: "operations",
      auth: "none",
      responses: { "200": { description: "Prometheus text exposition", schema: z.string(), mediaType: "text/plain" } },
      handler: async (deps) => ({
        status: 200,
        body: await deps.metrics.registry.metrics(),
        contentType: deps.metrics.registry.contentType,
      }),
    },
    {
      method: "get",
      path: "/openapi.json",
      operationId: "openApi",
      summary: "This document (OpenAPI 3.1); Swagger UI shows it at /documentation",
      tag: "operations",
      auth: "none",
      responses: { "200": { description: "The OpenAPI document", schema: z.looseObject({}) } },
      handler: () => ({ status: 200, body: document() }),
    },
  ];
}
