import { z } from "zod";
import {
  ClearCartJob,
  Envelope,
  ORDER_STATES,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  SetCartLineJob,
  SetCartLineRequest,
} from "@oms/shared";

/**
 * The OpenAPI of cart editing and paging, kept beside openapi.ts rather than in it. The
 * builders of responses come in as arguments (openapi.ts owns them and imports this
 * file, so importing them back would be a cycle).
 */
export interface SpecParts {
  ok(description: string, schema: string): unknown;
  err(description: string): unknown;
  jsonBody(schema: string): unknown;
  pathParam(name: string, description: string): unknown;
  common: Record<string, unknown>;
  clientAuth: Record<string, unknown>;
  bodyErrors: Record<string, unknown>;
}

export const CART_EDIT_SCHEMAS = {
  SetCartLineRequest,
  // Job payloads, for operators reading the cart queue (no operation returns them).
  SetCartLineJob,
  ClearCartJob,
  CartLineSet: Envelope.extend({
    clientID: z.string(),
    productID: z.string(),
    quantityInCart: z.number().int().describe("What the line holds now; 0 when it was removed"),
    available: z.number().int().optional().describe("Units that can still be reserved (absent for a removal)"),
  }),
  CartCleared: Envelope.extend({ clientID: z.string(), removedLines: z.number().int() }),
} as const;

/** A page's `nextCursor`: absent on the last page. */
export const NextCursor = z.string().optional().describe("Pass as ?cursor= for the next page; absent on the last page");

/** ?limit= and ?cursor=, the same on every paged listing. */
export const PAGE_PARAMS = [
  {
    name: "limit",
    in: "query",
    required: false,
    description: `Rows per page; above ${PAGE_LIMIT_MAX} is a 400 (not clamped)`,
    schema: { type: "integer", minimum: 1, maximum: PAGE_LIMIT_MAX, default: PAGE_LIMIT_DEFAULT },
  },
  {
    name: "cursor",
    in: "query",
    required: false,
    description: "The previous page's nextCursor (opaque); a cursor of another listing, or a made-up one, is a 400",
    schema: { type: "string", maxLength: 500 },
  },
];

const BUSY = "A checkout of this cart is in progress: the cart can change once it has ended";

/** What every cart edit may answer: the worker's 200, the 409 of a running checkout (or more), a 504. */
function editResponses(p: SpecParts, done: unknown, conflict: string): Record<string, unknown> {
  return {
    "200": done,
    ...p.common,
    ...p.clientAuth,
    "409": p.err(conflict),
    "504": p.err("No worker answered in time; the change may still be applied"),
  };
}

export function cartEditPaths(p: SpecParts): Record<string, unknown> {
  const shop = { tags: ["shop"], security: [{}, { clientJwt: [] }] };
  const line = [p.pathParam("clientID", "The client"), p.pathParam("productID", "The product")];
  return {
    "/cart/{clientID}/items/{productID}": {
      put: {
        operationId: "setCartItem",
        summary: "Set a cart line's quantity (0 removes it)",
        ...shop,
        parameters: line,
        requestBody: p.jsonBody("SetCartLineRequest"),
        responses: {
          ...editResponses(
            p,
            p.ok("Set; the line now holds quantityInCart", "CartLineSet"),
            `The quantity exceeds the available stock, or: ${BUSY}`,
          ),
          "404": p.err("Unknown product"),
          ...p.bodyErrors,
        },
      },
      delete: {
        operationId: "removeCartItem",
        summary: "Remove a line from a cart (a line not in the cart is already removed: 200)",
        ...shop,
        parameters: line,
        responses: editResponses(p, p.ok("Removed", "CartLineSet"), BUSY),
      },
    },
  };
}

/** DELETE /cart/{clientID}, beside openapi.ts's GET of the same path. */
export function clearCartOperation(p: SpecParts): Record<string, unknown> {
  return {
    operationId: "clearCart",
    summary: "Empty a client's cart",
    tags: ["shop"],
    security: [{}, { clientJwt: [] }],
    parameters: [p.pathParam("clientID", "The client")],
    responses: editResponses(p, p.ok("Emptied", "CartCleared"), BUSY),
  };
}

/** GET /admin/orders, for openapi.ts's admin block. */
export function adminOrdersOperation(p: SpecParts): Record<string, unknown> {
  const query = (name: string, description: string, schema: Record<string, unknown>) => ({
    name,
    in: "query",
    required: false,
    description,
    schema,
  });
  return {
    operationId: "listAdminOrders",
    summary: "Every client's orders, newest first, filtered and paged",
    tags: ["admin"],
    security: [{ adminBearer: [] }],
    parameters: [
      query("state", "Only orders in this state", { type: "string", enum: [...ORDER_STATES] }),
      query("clientID", "Only this client's orders", { type: "string", maxLength: 100 }),
      query("since", "Only orders created at or after this instant (ISO 8601)", {
        type: "string",
        format: "date-time",
      }),
      query("until", "Only orders created before this instant (ISO 8601)", { type: "string", format: "date-time" }),
      ...PAGE_PARAMS,
    ],
    responses: {
      "200": p.ok("A page of orders", "AdminOrderList"),
      "400": p.common["400"],
      "401": p.err("Admin token missing or wrong"),
      "503": p.common["503"],
    },
  };
}
