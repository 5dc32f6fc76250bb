import type { z } from "zod";
import type { ApiDeps } from "../deps";
import type { HttpResult } from "../http/result";
import type { RequestContext } from "../handlers/cart";
import type { HeaderName } from "./headers";

/**
 * Who may call a route; http/mount.ts enforces it and the OpenAPI document states it.
 * - `client-body`, `client-path`: rate-limited per client; with JWT_SECRET set, the token's
 *   subject must be the clientID the body (or the path's `:clientID`) names.
 * - `owner`: with JWT_SECRET set only the order's owner gets it; any other caller gets the
 *   unknown order's 404 (a 401 would confirm that the id exists).
 * - `admin`: `Bearer ADMIN_TOKEN`, under /admin; without ADMIN_TOKEN the route is absent (404).
 */
export type AuthKind = "none" | "client-body" | "client-path" | "owner" | "admin";

/** What a handler sees of a request: no Express in it. */
export interface RouteRequest {
  /** As Express parses them (a wildcard segment would be an array; no route has one). */
  params: Readonly<Record<string, string | string[]>>;
  query: unknown;
  body: unknown;
  /** A header the route reads; any other is a bug (its route must declare it, the document lists it). */
  header(name: HeaderName): string | undefined;
  ctx: RequestContext;
  /** With `owner` auth and JWT on: the client whose orders the caller may see. */
  owner?: string;
}

/** A response: a failure's description (its body is `Failed`), or a body of its own. */
export type ResponseSpec =
  string | { description: string; schema?: z.ZodType; mediaType?: string; headers?: HeaderName[] };

export interface RouteSpec {
  method: "get" | "post" | "put" | "delete";
  /** Express's form (`/orders/:orderId`); it is also the metrics' `route` label. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: "shop" | "operations" | "admin";
  auth: AuthKind;
  /** A JSON body (415 for another Content-Type); `optional`: none is fine, but a body sent must be JSON. */
  body?: { schema: z.ZodType; optional?: true };
  query?: z.ZodObject;
  /** Takes an Idempotency-Key, stored under this scope (whose key it is: the same key of two clients are two). */
  idempotency?: (req: RouteRequest) => string;
  /** Request headers read beyond those implied (X-Request-Id, and Idempotency-Key with `idempotency`). */
  reads?: HeaderName[];
  /** The route's own answers; those its auth, body and idempotency imply are added (openapi.ts). */
  responses: Record<string, ResponseSpec>;
  handler(deps: ApiDeps, req: RouteRequest): HttpResult | Promise<HttpResult>;
}
