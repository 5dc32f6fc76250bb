import { z } from "zod";
import {
  AddToCartJob,
  AddToCartRequest,
  CheckOutCartRequest,
  CheckoutJob,
  Envelope,
  ERROR_CODES,
  InventoryJob,
  ORDER_STATES,
  RefundRequest,
  RestockRequest,
  ShipRequest,
  UpsertProductRequest,
} from "@oms/shared";
import {
  adminOrdersOperation,
  CART_EDIT_SCHEMAS,
  cartEditPaths,
  clearCartOperation,
  NextCursor,
  PAGE_PARAMS,
  type SpecParts,
} from "./openapi-cart-paging";
import { WEBHOOK_SCHEMAS, webhookEvents, webhookPaths } from "./openapi-webhooks";

/**
 * OpenAPI 3.1, generated from the zod schemas that validate requests and job
 * payloads; response shapes are zod schemas here too, so there is one source.
 */
const Failed = Envelope.extend({
  status: z.literal("Failed"),
  code: z.enum(ERROR_CODES).describe("Machine-readable reason; each code has one HTTP status"),
}).meta({
  description: "The original envelope; `error` says what went wrong, `code` says it for machines",
});
const CartAdded = Envelope.extend({ quantityInCart: z.number().int(), available: z.number().int() });
const CheckoutDone = Envelope.extend({
  orderId: z.uuid(),
  state: z.enum(["completed", "failed", "pending"]),
  totalCents: z.number().int().optional(),
  productID: z.string().optional().describe("The product that ran short (409)"),
});
const CartView = Envelope.extend({
  clientID: z.string(),
  totalCents: z.number().int(),
  items: z.array(
    z.object({
      productID: z.string(),
      productName: z.string(),
      quantity: z.number().int(),
      unitPriceCents: z.number().int(),
      available: z.number().int(),
    }),
  ),
});
const Product = z.object({
  productID: z.string(),
  productName: z.string(),
  priceCents: z.number().int(),
  quantity: z.number().int().describe("Units in the warehouse per MySQL, including sold units not yet flushed"),
  available: z.number().int().describe("Units that can still be reserved"),
});
const OrderItem = z.object({ productID: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() });
const RefundLineView = z.object({ productID: z.string(), quantity: z.number().int(), amountCents: z.number().int() });
const Refund = z.object({
  refundId: z.uuid(),
  kind: z.enum(["cancel", "refund"]),
  amountCents: z.number().int(),
  status: z.enum(["pending", "succeeded"]).describe("pending until the payment provider confirmed it"),
  providerRef: z.string().nullable(),
  createdAt: z.iso.datetime(),
  refundedAt: z.iso.datetime().nullable(),
  lines: z.array(RefundLineView).describe("Units returned to stock"),
});
const Order = z.object({
  orderId: z.uuid(),
  clientID: z.string(),
  state: z.enum(ORDER_STATES),
  totalCents: z.number().int(),
  refundedCents: z.number().int(),
  paymentRef: z.string().nullable(),
  trackingRef: z.string().nullable(),
  failureCode: z.string().nullable(),
  failureReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  completedAt: z.iso.datetime().nullable(),
  cancelledAt: z.iso.datetime().nullable(),
  fulfilledAt: z.iso.datetime().nullable(),
  shippedAt: z.iso.datetime().nullable(),
  items: z.array(OrderItem).optional(),
  refunds: z.array(Refund).optional().describe("GET /orders/{orderId} only"),
});
const OrderMoved = Envelope.extend({
  orderId: z.uuid(),
  state: z.enum(ORDER_STATES),
  previousState: z.enum(ORDER_STATES),
  trackingRef: z.string().optional(),
  replayed: z.boolean().optional().describe("A keyed refund retried: its first refund, answered again"),
  refund: Refund.pick({ refundId: true, amountCents: true, status: true, lines: true }).optional(),
});
const Health = z.object({ status: z.string(), checks: z.record(z.string(), z.boolean()).optional() });

const SCHEMAS = {
  AddToCartRequest,
  CheckOutCartRequest,
  UpsertProductRequest,
  RestockRequest,
  RefundRequest,
  ShipRequest,
  AddToCartJob,
  CheckoutJob,
  InventoryJob,
  Failed,
  CartAdded,
  CheckoutDone,
  CartView,
  ...CART_EDIT_SCHEMAS,
  ProductList: Envelope.extend({ products: z.array(Product), limit: z.number().int(), nextCursor: NextCursor }),
  ProductView: Envelope.extend({ product: Product }),
  OrderView: Envelope.extend({ order: Order }),
  OrderList: Envelope.extend({
    clientID: z.string(),
    orders: z.array(Order),
    limit: z.number().int(),
    nextCursor: NextCursor,
  }),
  AdminOrderList: Envelope.extend({ orders: z.array(Order), limit: z.number().int(), nextCursor: NextCursor }),
  OrderMoved,
  AdminResult: Envelope.catchall(z.unknown()),
  Health,
  ...WEBHOOK_SCHEMAS,
} as const;
type SchemaName = keyof typeof SCHEMAS;
/** Only the admin routes use these; a spec without them (ADMIN_TOKEN unset) leaves them out. */
const ADMIN_SCHEMAS: ReadonlySet<string> = new Set<SchemaName>([
  "UpsertProductRequest",
  "RestockRequest",
  "RefundRequest",
  "ShipRequest",
  "AdminResult",
  "AdminOrderList",
  "CreateWebhookRequest",
  "WebhookView",
  "WebhookList",
  "DeliveryList",
]);

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  return rest;
}

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const content = (name: SchemaName) => ({ "application/json": { schema: ref(name) } });
const ok = (description: string, name: SchemaName) => ({ description, content: content(name) });
const err = (description: string) => ({ description, content: content("Failed") });

const COMMON_ERRORS = {
  "400": err("Invalid input; the message names the field"),
  "429": err("Too many requests for this client; see Retry-After"),
  "503": err("Redis or MySQL unreachable; see Retry-After"),
};
const CLIENT_AUTH = {
  "401": err(
    "Bearer token missing or invalid (when JWT_SECRET is set): bad signature, expired, without exp or iat, or issued more than JWT_MAX_AGE_S ago",
  ),
  "403": err("The token's subject is another client"),
};
const ADMIN_AUTH = { "401": err("Admin token missing or wrong") };
/** Routes that read a JSON body. */
const BODY_ERRORS = {
  "408": {
    description: "The body did not all arrive within HTTP_REQUEST_TIMEOUT_MS; no body, and the connection is closed",
  },
  "413": err("Body larger than MAX_BODY_BYTES"),
  "415": err("Content-Type is not application/json"),
};
/** No authentication: stated per operation, so a linter sees it was meant. */
const PUBLIC: Array<Record<string, string[]>> = [];

const IDEMPOTENCY_KEY = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Replays the first answer for the same key; 422 with another body; 409 while the first is running",
  schema: { type: "string", minLength: 1, maxLength: 255 },
};
const IDEMPOTENCY_ERRORS = {
  "409": err("A request with this Idempotency-Key is still running"),
  "422": err("This Idempotency-Key was used with a different body"),
};
const jsonBody = (name: SchemaName) => ({ required: true, content: content(name) });
const ORDER_ID = { name: "orderId", in: "path", required: true, schema: { type: "string", format: "uuid" } };
const pathParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string", maxLength: 100 },
});

/** The builders openapi-cart-paging.ts needs, handed over so it does not import this file. */
const PARTS: SpecParts = {
  ok: (description, schema) => ok(description, schema as SchemaName),
  err,
  jsonBody: (schema) => jsonBody(schema as SchemaName),
  pathParam,
  common: COMMON_ERRORS,
  clientAuth: CLIENT_AUTH,
  bodyErrors: BODY_ERRORS,
};

export function buildOpenApi(options: { adminEnabled: boolean }) {
  const adminSecurity = [{ adminBearer: [] }];
  const paths: Record<string, unknown> = {
    "/addToCart": {
      post: {
        operationId: "addToCart",
        summary: "Add a quantity of a product to a client's cart",
        tags: ["shop"],
        security: [{}, { clientJwt: [] }],
        requestBody: jsonBody("AddToCartRequest"),
        responses: {
          "200": ok("Added; the cart now holds quantityInCart", "CartAdded"),
          ...COMMON_ERRORS,
          ...CLIENT_AUTH,
          "404": err("Unknown product"),
          "409": err("The cart's total would exceed the available stock"),
          ...BODY_ERRORS,
          "504": err("No worker answered in time; the item may still be added"),
        },
      },
    },
    "/checkOutCart": {
      post: {
        operationId: "checkOutCart",
        summary: "Check out a client's cart: reserve, pay, commit",
        tags: ["shop"],
        security: [{}, { clientJwt: [] }],
        parameters: [
          {
            name: "Prefer",
            in: "header",
            required: false,
            description: "`respond-async` answers 202 at once",
            schema: { type: "string" },
          },
        ],
        requestBody: jsonBody("CheckOutCartRequest"),
        responses: {
          "200": ok("Order completed", "CheckoutDone"),
          "202": {
            description: "Accepted, still running; poll the Location",
            headers: { Location: { description: "/orders/{orderId}", schema: { type: "string" } } },
            content: content("CheckoutDone"),
          },
          ...COMMON_ERRORS,
          ...CLIENT_AUTH,
          "402": err("Payment declined"),
          "409": err(
            "A product ran short (named), or this Idempotency-Key is in flight (a second checkout while one runs joins it and gets its answer)",
          ),
          "422": IDEMPOTENCY_ERRORS["422"],
          "503": err(
            "Redis or MySQL unreachable (see Retry-After); no order id is given: with an Idempotency-Key retry with it, without one see GET /clients/{clientID}/orders or retry",
          ),
          ...BODY_ERRORS,
        },
      },
    },
    "/cart/{clientID}": {
      get: {
        operationId: "getCart",
        summary: "A client's cart with prices and live stock",
        tags: ["shop"],
        security: [{}, { clientJwt: [] }],
        parameters: [pathParam("clientID", "The client")],
        responses: { "200": ok("The cart", "CartView"), ...COMMON_ERRORS, ...CLIENT_AUTH },
      },
      delete: clearCartOperation(PARTS),
    },
    ...cartEditPaths(PARTS),
    "/products": {
      get: {
        operationId: "listProducts",
        security: PUBLIC,
        summary: "The catalog with live stock, by product id, a page at a time",
        tags: ["shop"],
        parameters: PAGE_PARAMS,
        responses: { "200": ok("Products", "ProductList"), ...COMMON_ERRORS },
      },
    },
    "/products/{productID}": {
      get: {
        operationId: "getProduct",
        security: PUBLIC,
        summary: "One product with live stock",
        tags: ["shop"],
        parameters: [pathParam("productID", "The product")],
        responses: { "200": ok("The product", "ProductView"), ...COMMON_ERRORS, "404": err("Unknown product") },
      },
    },
    "/orders/{orderId}": {
      get: {
        operationId: "getOrder",
        security: [{}, { clientJwt: [] }],
        summary: "An order: state, items, total, failure reason, timestamps",
        description:
          "When JWT_SECRET is set, only the owner's token shows the order; no token, an invalid one or another client's is the same 404 as an unknown order.",
        tags: ["shop"],
        parameters: [ORDER_ID],
        responses: {
          "200": ok("The order", "OrderView"),
          ...COMMON_ERRORS,
          "404": err("Unknown order, or (JWT on) not the token's client's"),
        },
      },
    },
    "/orders/{orderId}/cancel": {
      post: {
        operationId: "cancelOrder",
        security: [{}, { clientJwt: [] }],
        summary:
          "Cancel a paid order before it is fulfilled: everything not yet refunded is refunded and back in stock",
        description:
          "No body. The refund is recorded with the state change and carried to the payment provider by a worker (`refund.status` pending until it confirmed; see GET /orders/{orderId}). When JWT_SECRET is set, only the owner's token may cancel; any other request gets the same 404 as an unknown order.",
        tags: ["shop"],
        parameters: [ORDER_ID],
        responses: {
          "200": ok("Cancelled", "OrderMoved"),
          ...COMMON_ERRORS,
          "404": err("Unknown order, or (JWT on) not the token's client's"),
          "409": err(
            "INVALID_TRANSITION: the order is not completed or partially_refunded (pending, failed, fulfilled, shipped, cancelled, refunded)",
          ),
        },
      },
    },
    "/clients/{clientID}/orders": {
      get: {
        operationId: "listClientOrders",
        summary: "A client's orders, newest first, a page at a time",
        tags: ["shop"],
        security: [{}, { clientJwt: [] }],
        parameters: [pathParam("clientID", "The client"), ...PAGE_PARAMS],
        responses: { "200": ok("Orders", "OrderList"), ...COMMON_ERRORS, ...CLIENT_AUTH },
      },
    },
    "/healthz": {
      get: {
        operationId: "healthz",
        security: PUBLIC,
        summary: "The process is alive",
        tags: ["operations"],
        responses: { "200": ok("Alive", "Health") },
      },
    },
    "/readyz": {
      get: {
        operationId: "readyz",
        security: PUBLIC,
        summary: "Redis and MySQL answer and workers are consuming",
        tags: ["operations"],
        responses: { "200": ok("Ready", "Health"), "503": ok("Not ready; checks say which part", "Health") },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openApi",
        summary: "This document (OpenAPI 3.1); Swagger UI shows it at /documentation",
        tags: ["operations"],
        security: PUBLIC,
        responses: {
          "200": {
            description: "The OpenAPI document",
            content: { "application/json": { schema: { type: "object" } } },
          },
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        security: PUBLIC,
        summary: "Prometheus metrics",
        tags: ["operations"],
        responses: {
          "200": {
            description: "Prometheus text exposition",
            content: { "text/plain": { schema: { type: "string" } } },
          },
        },
      },
    },
  };
  if (options.adminEnabled) {
    const admin = (
      operationId: string,
      summary: string,
      extra: { parameters?: unknown[]; responses: Record<string, unknown> } & Record<string, unknown>,
    ) => ({
      operationId,
      summary,
      tags: ["admin"],
      security: adminSecurity,
      ...extra,
    });
    // Admin writes take an Idempotency-Key too.
    const adminWrite = (
      operationId: string,
      summary: string,
      extra: { parameters?: unknown[]; responses: Record<string, unknown> } & Record<string, unknown>,
    ) =>
      admin(operationId, summary, {
        ...extra,
        parameters: [...(extra.parameters ?? []), IDEMPOTENCY_KEY],
        responses: { "409": IDEMPOTENCY_ERRORS["409"], "422": IDEMPOTENCY_ERRORS["422"], ...extra.responses },
      });
    Object.assign(paths, {
      "/admin/products": {
        post: adminWrite("upsertProduct", "Create a product or update its name, price and level", {
          requestBody: jsonBody("UpsertProductRequest"),
          responses: {
            "200": ok("Updated", "AdminResult"),
            "201": ok("Created", "AdminResult"),
            ...COMMON_ERRORS,
            ...ADMIN_AUTH,
            "409": err("Level below units sold and not yet flushed or held by checkouts under way"),
            ...BODY_ERRORS,
          },
        }),
      },
      "/admin/products/{productID}/restock": {
        post: adminWrite("restockProduct", "Add to or set a product's warehouse level; the cache follows", {
          parameters: [pathParam("productID", "The product")],
          requestBody: jsonBody("RestockRequest"),
          responses: {
            "200": ok("Restocked", "AdminResult"),
            ...COMMON_ERRORS,
            ...ADMIN_AUTH,
            "404": err("Unknown product"),
            "409": err(
              "Level below units sold and not yet flushed or held by checkouts under way, or an add past the most a product may hold (1000000000)",
            ),
            ...BODY_ERRORS,
          },
        }),
      },
      "/admin/orders/{orderId}/refund": {
        post: adminWrite("refundOrder", "Refund a paid order, whole or some lines; the units go back to stock", {
          description:
            "No body (or `{}`) refunds everything not yet refunded; `{lines}` refunds those units. Refunding all that is left makes the order refunded; part of it, partially_refunded (a fulfilled or shipped order keeps its state). The payment provider is asked by a worker with the refund id as idempotency key; `refund.status` is pending until it confirmed.",
          parameters: [ORDER_ID],
          requestBody: { required: false, content: content("RefundRequest") },
          responses: {
            "200": ok("Refunded (recorded; the provider confirms it shortly)", "OrderMoved"),
            ...COMMON_ERRORS,
            ...ADMIN_AUTH,
            "404": err("Unknown order"),
            "409": err(
              "INVALID_TRANSITION: the order is pending, failed, cancelled or refunded; REFUND_EXCEEDS_ORDER: a line asks for more than was bought and not yet refunded; or this Idempotency-Key is in flight",
            ),
            ...BODY_ERRORS,
          },
        }),
      },
      "/admin/orders/{orderId}/fulfil": {
        post: adminWrite(
          "fulfilOrder",
          "Mark a paid order fulfilled (packed): it can no longer be cancelled, only refunded",
          {
            parameters: [ORDER_ID],
            responses: {
              "200": ok("Fulfilled", "OrderMoved"),
              ...COMMON_ERRORS,
              ...ADMIN_AUTH,
              "404": err("Unknown order"),
              "409": err("INVALID_TRANSITION: the order is not completed or partially_refunded"),
            },
          },
        ),
      },
      "/admin/orders/{orderId}/ship": {
        post: adminWrite("shipOrder", "Mark a paid order shipped, with an optional tracking reference", {
          parameters: [ORDER_ID],
          requestBody: { required: false, content: content("ShipRequest") },
          responses: {
            "200": ok("Shipped", "OrderMoved"),
            ...COMMON_ERRORS,
            ...ADMIN_AUTH,
            "404": err("Unknown order"),
            "409": err("INVALID_TRANSITION: the order is not completed, partially_refunded, fulfilled or shipped"),
            ...BODY_ERRORS,
          },
        }),
      },
      "/admin/reconcile": {
        post: adminWrite("reconcileNow", "Compare cached stock with MySQL now and repair confirmed drift", {
          responses: {
            "200": ok("The reconciler's report", "AdminResult"),
            "202": ok("Still running", "AdminResult"),
            ...ADMIN_AUTH,
            "503": COMMON_ERRORS["503"],
          },
        }),
      },
      "/admin/orders": { get: adminOrdersOperation(PARTS) },
      "/admin/holds": {
        get: admin("listHolds", "Live stock holds: held (waiting for payment) and committing (paying)", {
          responses: { "200": ok("Holds", "AdminResult"), ...ADMIN_AUTH, "503": COMMON_ERRORS["503"] },
        }),
      },
      "/admin/flushes": {
        get: admin("pendingFlushes", "Committed decrements not yet applied to MySQL", {
          responses: { "200": ok("Pending flushes", "AdminResult"), ...ADMIN_AUTH, "503": COMMON_ERRORS["503"] },
        }),
      },
      "/admin/jobs/{queue}/retry-failed": {
        post: adminWrite("retryFailedJobs", "Re-drive a queue's failed jobs", {
          parameters: [
            {
              name: "queue",
              in: "path",
              required: true,
              schema: { type: "string", enum: ["cart", "checkout", "inventory", "events", "webhooks"] },
            },
          ],
          responses: {
            "200": ok("Retried", "AdminResult"),
            ...ADMIN_AUTH,
            "404": err("Unknown queue"),
            "503": COMMON_ERRORS["503"],
          },
        }),
      },
      ...webhookPaths({
        ok,
        err,
        jsonBody,
        admin,
        adminWrite,
        adminErrors: { ...ADMIN_AUTH, "503": COMMON_ERRORS["503"] },
        bodyErrors: BODY_ERRORS,
        pageParams: PAGE_PARAMS,
      }),
    });
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Order management API",
      version: "1.0.0",
      description:
        "Cart and checkout (compatible with the original service's POST /addToCart and /checkOutCart), orders, catalog, operations.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "/" }],
    tags: [
      { name: "shop", description: "Cart, checkout, catalog and orders" },
      { name: "operations", description: "Health and metrics" },
      { name: "admin", description: "Catalog and queue administration (Bearer ADMIN_TOKEN)" },
    ],
    paths,
    webhooks: webhookEvents({ jsonBody }),
    components: {
      schemas: Object.fromEntries(
        Object.entries(SCHEMAS)
          .filter(([name]) => options.adminEnabled || !ADMIN_SCHEMAS.has(name))
          .map(([name, schema]) => [name, jsonSchema(schema)]),
      ),
      securitySchemes: {
        clientJwt: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "Required when JWT_SECRET is set; subject = clientID",
        },
        ...(options.adminEnabled
          ? { adminBearer: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" } }
          : {}),
      },
    },
  };
}

/** Swagger UI page at /documentation, reading /openapi.json; assets come from swagger-ui-dist, served locally. */
export function documentationPage(basePath: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Order management API</title>
<link rel="stylesheet" href="${basePath}/documentation/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="${basePath}/documentation/assets/swagger-ui-bundle.js"></script>
<script src="${basePath}/documentation/init.js"></script>
</body></html>`;
}

export function documentationInit(basePath: string): string {
  return `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(`${basePath}/openapi.json`)}, dom_id: "#swagger-ui" });`;
}
