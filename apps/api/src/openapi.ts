import { z } from "zod";
import {
  AddToCartJob,
  AddToCartRequest,
  CheckOutCartRequest,
  CheckoutJob,
  ClearCartJob,
  CreateWebhookRequest,
  InventoryJob,
  RefundRequest,
  RestockRequest,
  SetCartLineJob,
  SetCartLineRequest,
  ShipRequest,
  UpsertProductRequest,
} from "@oms/shared";
import { routeTable, type RouteSpec } from "./routes";
import { HEADERS, requestHeaders, responseHeaders } from "./routes/headers";
import { PATH_PARAMS } from "./routes/params";
import * as R from "./routes/schemas";
import type { ResponseSpec } from "./routes/types";
import { WebhookEvent, webhookEvents } from "./openapi-webhooks";

/**
 * OpenAPI 3.1 from the route table: each route's parameters, body, answers and headers
 * come from its entry, the errors its auth, body and Idempotency-Key imply are added here,
 * and every schema is a zod schema, the same that validates (requests) or describes
 * (responses). Named schemas become components; a spec shows only those it uses.
 */
const COMPONENTS: Record<string, z.ZodType> = {
  AddToCartRequest,
  CheckOutCartRequest,
  SetCartLineRequest,
  UpsertProductRequest,
  RestockRequest,
  RefundRequest,
  ShipRequest,
  CreateWebhookRequest,
  AddToCartJob,
  SetCartLineJob,
  ClearCartJob,
  CheckoutJob,
  InventoryJob,
  WebhookEvent,
  ...R,
};
/** Documented though no operation names them: job payloads, for operators reading queues, and the webhook body. */
const ALWAYS = [
  "Failed",
  "AddToCartJob",
  "SetCartLineJob",
  "ClearCartJob",
  "CheckoutJob",
  "InventoryJob",
  "WebhookEvent",
];
const NAMES = new Map<unknown, string>(Object.entries(COMPONENTS).map(([name, schema]) => [schema, name]));

const IMPLIED = {
  "400": "Invalid input; the message names the field",
  clientUnauthorized:
    "Bearer token missing or invalid (when JWT_SECRET is set): bad signature, expired, without exp or iat, or issued more than JWT_MAX_AGE_S ago",
  adminUnauthorized: "Admin token missing or wrong",
  "403": "The token's subject is another client",
  "408": {
    description: "The body did not all arrive within HTTP_REQUEST_TIMEOUT_MS; no body, and the connection is closed",
  },
  "409": "A request with this Idempotency-Key is still running",
  "413": "Body larger than MAX_BODY_BYTES",
  "415": "Content-Type is not application/json",
  "422": "This Idempotency-Key was used with a different body",
  "429": "Too many requests for this client; see Retry-After",
  "503": "Redis or MySQL unreachable; see Retry-After",
} as const;

/** Every answer a route may give: what its auth, body and Idempotency-Key imply, then its own. */
export function responsesOf(route: RouteSpec): Record<string, ResponseSpec> {
  const client = route.auth === "client-body" || route.auth === "client-path";
  const input = Boolean(route.body || route.query || route.idempotency || route.path.includes(":"));
  const implied: Record<string, ResponseSpec> = {
    ...(input || client || route.auth === "owner" ? { "400": IMPLIED["400"] } : {}),
    ...(client ? { "401": IMPLIED.clientUnauthorized, "403": IMPLIED["403"] } : {}),
    ...(route.auth === "admin" ? { "401": IMPLIED.adminUnauthorized } : {}),
    ...(route.body ? { "408": IMPLIED["408"], "413": IMPLIED["413"], "415": IMPLIED["415"] } : {}),
    ...(route.idempotency ? { "409": IMPLIED["409"], "422": IMPLIED["422"] } : {}),
    ...(client || route.auth === "owner" ? { "429": IMPLIED["429"] } : {}),
    ...(route.auth === "none" ? {} : { "503": IMPLIED["503"] }),
  };
  const all = { ...implied, ...route.responses };
  return Object.fromEntries(
    Object.keys(all)
      .sort()
      .map((status) => [status, all[status] as ResponseSpec]),
  );
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  return rest;
}

/** Builds one document; `used` collects the components it refers to. */
class Document {
  readonly used = new Set<string>(ALWAYS);

  schema(schema: z.ZodType): Record<string, unknown> {
    const name = NAMES.get(schema);
    if (name === undefined) return jsonSchema(schema);
    this.used.add(name);
    return { $ref: `#/components/schemas/${name}` };
  }

  component(kind: "parameters" | "headers", name: string) {
    this.used.add(`${kind}:${name}`);
    return { $ref: `#/components/${kind}/${name}` };
  }

  /** One answer: its description, the headers it carries, and its body (a failure's is `Failed`). */
  response(route: RouteSpec, status: string, spec: ResponseSpec) {
    const headers = Object.fromEntries(
      responseHeaders(route, status, spec).map((name) => [name, this.component("headers", name)]),
    );
    const own = typeof spec === "string" ? { description: spec, schema: R.Failed, mediaType: undefined } : spec;
    return {
      description: own.description,
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(own.schema
        ? { content: { [own.mediaType ?? "application/json"]: { schema: this.schema(own.schema) } } }
        : {}),
    };
  }

  operation(route: RouteSpec) {
    const pathParams = [...route.path.matchAll(/:(\w+)/g)].map(([, name = ""]) => {
      const schema = PATH_PARAMS[name];
      if (!schema) throw new Error(`${route.path}: no schema for the path parameter ${name}`);
      return parameter(name, "path", true, jsonSchema(schema));
    });
    const query = route.query ? jsonSchema(route.query) : {};
    const required = new Set((query.required as string[] | undefined) ?? []);
    const queryParams = Object.entries((query.properties ?? {}) as Record<string, Record<string, unknown>>).map(
      ([name, schema]) => parameter(name, "query", required.has(name), schema),
    );
    const headers = requestHeaders(route).map((name) => this.component("parameters", name));
    return {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      security: SECURITY[route.auth],
      parameters: [...pathParams, ...queryParams, ...headers],
      ...(route.body
        ? {
            requestBody: {
              required: !route.body.optional,
              content: { "application/json": { schema: this.schema(route.body.schema) } },
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(responsesOf(route)).map(([status, spec]) => [status, this.response(route, status, spec)]),
      ),
    };
  }
}

/** A parameter from its JSON schema; the schema's description becomes the parameter's. */
function parameter(name: string, where: "path" | "query", required: boolean, schema: Record<string, unknown>) {
  const { description, ...rest } = schema;
  return { name, in: where, required, ...(description ? { description } : {}), schema: rest };
}

const SECURITY: Record<RouteSpec["auth"], Array<Record<string, string[]>>> = {
  // No authentication: stated per operation, so a linter sees it was meant.
  none: [],
  "client-body": [{}, { clientJwt: [] }],
  "client-path": [{}, { clientJwt: [] }],
  owner: [{}, { clientJwt: [] }],
  admin: [{ adminBearer: [] }],
};

export function buildOpenApi(options: { adminEnabled: boolean }) {
  const doc = new Document();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routeTable({ ...options, document: () => ({}) })) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    paths[path] = { ...paths[path], [route.method]: doc.operation(route) };
  }
  const webhooks = webhookEvents(doc.schema(WebhookEvent));
  const only = (kind: string) =>
    Object.fromEntries(
      Object.entries(HEADERS)
        .filter(([name]) => doc.used.has(`${kind}:${name}`))
        .map(([name, { description, schema }]) => [
          name,
          kind === "parameters"
            ? { name, in: "header", required: false, description, schema }
            : { description, schema },
        ]),
    );
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
    webhooks,
    components: {
      schemas: Object.fromEntries(
        Object.entries(COMPONENTS)
          .filter(([name]) => doc.used.has(name))
          .map(([name, schema]) => [name, jsonSchema(schema)]),
      ),
      parameters: only("parameters"),
      headers: only("headers"),
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
