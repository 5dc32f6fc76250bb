import { z } from "zod";
import { CreateWebhookRequest, EVENT_TYPES, Envelope } from "@oms/shared";

/**
 * The webhook part of the OpenAPI document: the admin routes that register endpoints and
 * show their deliveries, and (OpenAPI 3.1 `webhooks`) what a receiver is sent. openapi.ts
 * passes its helpers in, so this file imports nothing from it.
 */
const Webhook = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.enum(EVENT_TYPES)),
  createdAt: z.iso.datetime(),
  deletedAt: z.iso.datetime().optional(),
});
const Delivery = z.object({
  eventId: z.uuid(),
  type: z.enum(EVENT_TYPES),
  orderId: z.uuid().nullable(),
  status: z.enum(["pending", "delivered", "failed", "cancelled"]),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  waitingFor: z.uuid().nullable().describe("An earlier event of the same order this delivery waits for"),
  nextAttemptAt: z.iso.datetime().nullable().describe("When a pending delivery is tried next"),
  deliveredAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  tries: z.array(
    z.object({
      attempt: z.number().int(),
      statusCode: z.number().int().nullable().describe("null: no HTTP answer (see error)"),
      error: z.string().nullable(),
      durationMs: z.number().int(),
      at: z.iso.datetime(),
    }),
  ),
});

export const WEBHOOK_SCHEMAS = {
  CreateWebhookRequest,
  WebhookView: Envelope.extend({ webhook: Webhook }),
  WebhookList: Envelope.extend({ webhooks: z.array(Webhook) }),
  DeliveryList: Envelope.extend({
    webhook: Webhook,
    deliveries: z.array(Delivery),
    limit: z.number().int(),
    nextCursor: z.string().optional().describe("Pass as ?cursor= for the next (older) page; absent on the last"),
  }),
  WebhookEvent: z
    .object({
      id: z.uuid().describe("Stable across attempts: dedupe on it"),
      type: z.enum(EVENT_TYPES),
      createdAt: z.iso.datetime(),
      orderId: z.uuid().nullable(),
      productId: z.string().nullable(),
      data: z.record(z.string(), z.unknown()),
    })
    .meta({ description: "The body of every webhook delivery" }),
} as const;
export type WebhookSchemaName = keyof typeof WEBHOOK_SCHEMAS;

type Responses = Record<string, unknown>;
type Extra = { parameters?: unknown[]; responses: Responses } & Record<string, unknown>;
export interface SpecHelpers {
  ok(description: string, name: WebhookSchemaName | "AdminResult"): unknown;
  err(description: string): unknown;
  jsonBody(name: WebhookSchemaName): unknown;
  admin(operationId: string, summary: string, extra: Extra): unknown;
  adminWrite(operationId: string, summary: string, extra: Extra): unknown;
  /** The errors every admin route shares (401, 503), and those of a route reading a JSON body. */
  adminErrors: Responses;
  bodyErrors: Responses;
  /** ?limit= and ?cursor=, as every keyset listing takes them. */
  pageParams: unknown[];
}

export function webhookPaths(h: SpecHelpers): Record<string, unknown> {
  const id = {
    name: "id",
    in: "path",
    required: true,
    description: "The endpoint's id",
    schema: { type: "string", format: "uuid" },
  };
  return {
    "/admin/webhooks": {
      post: h.adminWrite("createWebhook", "Register a webhook endpoint for some event types", {
        requestBody: h.jsonBody("CreateWebhookRequest"),
        responses: {
          "201": h.ok("Registered (the secret is not shown)", "WebhookView"),
          "400": h.err("Invalid input: a URL that is not http(s), an unknown event type, a short secret"),
          ...h.adminErrors,
          "409": h.err("Already 100 live endpoints, or this Idempotency-Key is in flight"),
          ...h.bodyErrors,
        },
      }),
      get: h.admin("listWebhooks", "The live webhook endpoints (never their secrets)", {
        responses: { "200": h.ok("Endpoints", "WebhookList"), ...h.adminErrors },
      }),
    },
    "/admin/webhooks/{id}": {
      delete: h.admin("deleteWebhook", "Delete an endpoint; its pending deliveries are cancelled", {
        parameters: [id],
        responses: {
          "200": h.ok("Deleted", "AdminResult"),
          ...h.adminErrors,
          "404": h.err("No such live endpoint"),
        },
      }),
    },
    "/admin/webhooks/{id}/deliveries": {
      get: h.admin(
        "listWebhookDeliveries",
        "An endpoint's deliveries, newest first: attempts, status codes, next try",
        {
          parameters: [id, ...h.pageParams],
          responses: {
            "200": h.ok("Deliveries", "DeliveryList"),
            "400": h.err("Invalid limit or cursor"),
            ...h.adminErrors,
            "404": h.err("No such endpoint"),
          },
        },
      ),
    },
  };
}

/** OpenAPI 3.1 `webhooks`: one entry per event type, all with the same signed body. */
export function webhookEvents(h: Pick<SpecHelpers, "jsonBody">): Record<string, unknown> {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `event-${type.replace(".", "-")}`,
          summary: `The ${type} event, POSTed to each endpoint subscribed to it`,
          description:
            "Signed: `Oms-Signature: t=<unix seconds>,v1=<hex>`, v1 = HMAC-SHA256(secret, `<t>.<raw body>`). Retried with back-off until a 2xx answer; events of one order arrive in order.",
          security: [],
          parameters: [
            { name: "Oms-Signature", in: "header", required: true, schema: { type: "string" } },
            { name: "Oms-Event-Id", in: "header", required: true, schema: { type: "string", format: "uuid" } },
            { name: "Oms-Event-Type", in: "header", required: true, schema: { type: "string" } },
            { name: "Oms-Delivery-Attempt", in: "header", required: true, schema: { type: "integer", minimum: 1 } },
          ],
          requestBody: h.jsonBody("WebhookEvent"),
          responses: {
            "200": { description: "Any 2xx: delivered" },
            "400": { description: "Any other answer (or none within WEBHOOK_TIMEOUT_MS): tried again later" },
          },
        },
      },
    ]),
  );
}
