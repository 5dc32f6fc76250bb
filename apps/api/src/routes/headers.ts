import type { ResponseSpec, RouteSpec } from "./types";

/**
 * Every HTTP header a route reads or answers, beyond Content-Type and Authorization (the
 * security schemes say those). The route table names them; the OpenAPI document declares
 * them from here, and a handler can read only the ones its route lists.
 */
export const HEADERS = {
  "X-Request-Id": {
    description: "Correlates logs: a client's own id (1-100 of `A-Za-z0-9_.-`) is kept, anything else replaced",
    schema: { type: "string", pattern: "^[\\w.-]{1,100}$" },
  },
  traceparent: {
    description: "W3C trace context: with OTEL_EXPORTER_OTLP_ENDPOINT set, the request's spans join the caller's trace",
    schema: { type: "string", pattern: "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$" },
  },
  tracestate: { description: "W3C trace context, carried with traceparent", schema: { type: "string" } },
  "Idempotency-Key": {
    description: "Replays the first answer for the same key; 422 with another body; 409 while the first is running",
    schema: { type: "string", minLength: 1, maxLength: 255 },
  },
  Prefer: { description: "`respond-async` answers 202 at once", schema: { type: "string" } },
  "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer", minimum: 0 } },
  "Idempotent-Replayed": {
    description: "`true`: the stored answer of an earlier request with this Idempotency-Key",
    schema: { type: "string", enum: ["true"] },
  },
  Location: { description: "/orders/{orderId}", schema: { type: "string" } },
  "WWW-Authenticate": { description: "The Bearer challenge", schema: { type: "string" } },
} as const;
export type HeaderName = keyof typeof HEADERS;

/** The request headers a route reads: the request id and trace context, its Idempotency-Key, and its own. */
export function requestHeaders(route: RouteSpec): HeaderName[] {
  const every: HeaderName[] = ["X-Request-Id", "traceparent", "tracestate"];
  return [...every, ...(route.idempotency ? (["Idempotency-Key"] as const) : []), ...(route.reads ?? [])];
}

/**
 * The headers one response of a route carries. The request id is on every answer but the
 * server's own 408; Retry-After on every 429 and on a failure's 503 (and on the 409 of a key
 * in flight); a replay of a stored answer says so on anything the store keeps (not 5xx, 429).
 */
export function responseHeaders(route: RouteSpec, status: string, spec: ResponseSpec): HeaderName[] {
  const failed = typeof spec === "string";
  const code = Number(status);
  const names: HeaderName[] = code === 408 ? [] : ["X-Request-Id"];
  if (code === 429 || (failed && code === 503) || (route.idempotency && code === 409)) names.push("Retry-After");
  if (code === 401) names.push("WWW-Authenticate");
  if (route.idempotency && code < 500 && code !== 429 && code !== 408) names.push("Idempotent-Replayed");
  if (!failed) names.push(...(spec.headers ?? []));
  return names;
}
