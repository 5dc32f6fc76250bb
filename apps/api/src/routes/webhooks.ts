import { CreateWebhookRequest } from "@oms/shared";
import { createWebhook, DeliveriesQuery, deleteWebhook, listDeliveries, listWebhooks } from "../admin/webhooks";
import type { RouteSpec } from "./types";
import { AdminResult, DeliveryList, WebhookList, WebhookView } from "./schemas";

/** The admin routes that register webhook endpoints and show their deliveries. */
export const WEBHOOK_ROUTES: RouteSpec[] = [
  {
    method: "post",
    path: "/admin/webhooks",
    operationId: "createWebhook",
    summary: "Register a webhook endpoint for some event types",
    tag: "admin",
    auth: "admin",
    body: { schema: CreateWebhookRequest },
    idempotency: () => "admin",
    responses: {
      "201": { description: "Registered (the secret is not shown)", schema: WebhookView },
      "400": "Invalid input: a URL that is not http(s), an unknown event type, a short secret",
      "409": "Already 100 live endpoints, or this Idempotency-Key is in flight",
    },
    handler: (deps, req) => createWebhook(deps, req.body),
  },
  {
    method: "get",
    path: "/admin/webhooks",
    operationId: "listWebhooks",
    summary: "The live webhook endpoints (never their secrets)",
    tag: "admin",
    auth: "admin",
    responses: { "200": { description: "Endpoints", schema: WebhookList } },
    handler: (deps) => listWebhooks(deps),
  },
  {
    method: "delete",
    path: "/admin/webhooks/:id",
    operationId: "deleteWebhook",
    summary: "Delete an endpoint; its pending deliveries are cancelled",
    tag: "admin",
    auth: "admin",
    responses: { "200": { description: "Deleted", schema: AdminResult }, "404": "No such live endpoint" },
    handler: (deps, req) => deleteWebhook(deps, String(req.params.id)),
  },
  {
    method: "get",
    path: "/admin/webhooks/:id/deliveries",
    operationId: "listWebhookDeliveries",
    summary: "An endpoint's deliveries, newest first: attempts, status codes, next try",
    tag: "admin",
    auth: "admin",
    query: DeliveriesQuery,
    responses: { "200": { description: "Deliveries", schema: DeliveryList }, "404": "No such endpoint" },
    handler: (deps, req) => listDeliveries(deps, String(req.params.id), req.query),
  },
];
