import { z } from "zod";
import { EVENT_TYPES } from "@oms/shared";

/** The body of every webhook delivery. */
export const WebhookEvent = z
  .object({
    id: z.uuid().describe("Stable across attempts: dedupe on it"),
    type: z.enum(EVENT_TYPES),
    createdAt: z.iso.datetime(),
    orderId: z.uuid().nullable(),
    productId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ description: "The body of every webhook delivery" });

/**
 * OpenAPI 3.1 `webhooks`: what a receiver is sent, one entry per event type, all with the
 * same signed body (`body` is the document's reference to WebhookEvent).
 */
export function webhookEvents(body: unknown): Record<string, unknown> {
  const header = (name: string, schema: Record<string, unknown>) => ({ name, in: "header", required: true, schema });
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
            header("Oms-Signature", { type: "string" }),
            header("Oms-Event-Id", { type: "string", format: "uuid" }),
            header("Oms-Event-Type", { type: "string" }),
            header("Oms-Delivery-Attempt", { type: "integer", minimum: 1 }),
          ],
          requestBody: { required: true, content: { "application/json": { schema: body } } },
          responses: {
            "200": { description: "Any 2xx: delivered" },
            "400": { description: "Any other answer (or none within WEBHOOK_TIMEOUT_MS): tried again later" },
          },
        },
      },
    ]),
  );
}
