import { RefundRequest, RestockRequest, ShipRequest, UpsertProductRequest } from "@oms/shared";
import { restockProduct, upsertProduct } from "../admin/products";
import { listHolds, pendingFlushes, reconcileNow, retryFailedJobs } from "../admin/operations";
import { AdminOrdersPage, listAdminOrders } from "../admin/orders";
import { fulfilOrder, refundOrder, shipOrder } from "../handlers/order-lifecycle";
import type { RouteSpec } from "./types";
import { AdminOrderList, AdminResult, OrderMoved } from "./schemas";

/** Every admin write shares one Idempotency-Key scope. */
const admin = () => "admin";
const LEVEL_BELOW = "Level below units sold and not yet flushed or held by checkouts under way";

/** Catalog, order and queue administration, under /admin with `Bearer ADMIN_TOKEN`. */
export const ADMIN_ROUTES: RouteSpec[] = [
  {
    method: "post",
    path: "/admin/products",
    operationId: "upsertProduct",
    summary: "Create a product or update its name, price and level",
    tag: "admin",
    auth: "admin",
    body: { schema: UpsertProductRequest },
    idempotency: admin,
    responses: {
      "200": { description: "Updated", schema: AdminResult },
      "201": { description: "Created", schema: AdminResult },
      "409": `${LEVEL_BELOW}, or this Idempotency-Key is in flight`,
    },
    handler: (deps, req) => upsertProduct(deps, req.body),
  },
  {
    method: "post",
    path: "/admin/products/:productID/restock",
    operationId: "restockProduct",
    summary: "Add to or set a product's warehouse level; the cache follows",
    tag: "admin",
    auth: "admin",
    body: { schema: RestockRequest },
    idempotency: admin,
    responses: {
      "200": { description: "Restocked", schema: AdminResult },
      "404": "Unknown product",
      "409": `${LEVEL_BELOW}, an add past the most a product may hold (1000000000), or this Idempotency-Key is in flight`,
    },
    handler: (deps, req) => restockProduct(deps, String(req.params.productID), req.body),
  },
  {
    method: "get",
    path: "/admin/orders",
    operationId: "listAdminOrders",
    summary: "Every client's orders, newest first, filtered and paged",
    tag: "admin",
    auth: "admin",
    query: AdminOrdersPage,
    responses: { "200": { description: "A page of orders", schema: AdminOrderList } },
    handler: (deps, req) => listAdminOrders(deps, req.query),
  },
  {
    method: "get",
    path: "/admin/holds",
    operationId: "listHolds",
    summary: "Live stock holds: held (waiting for payment) and committing (paying)",
    tag: "admin",
    auth: "admin",
    responses: { "200": { description: "Holds", schema: AdminResult } },
    handler: (deps) => listHolds(deps),
  },
  {
    method: "get",
    path: "/admin/flushes",
    operationId: "pendingFlushes",
    summary: "Committed decrements not yet applied to MySQL",
    tag: "admin",
    auth: "admin",
    responses: { "200": { description: "Pending flushes", schema: AdminResult } },
    handler: (deps) => pendingFlushes(deps),
  },
  {
    method: "post",
    path: "/admin/jobs/:queue/retry-failed",
    operationId: "retryFailedJobs",
    summary: "Re-drive a queue's failed jobs",
    tag: "admin",
    auth: "admin",
    idempotency: admin,
    responses: { "200": { description: "Retried", schema: AdminResult }, "404": "Unknown queue" },
    handler: (deps, req) => retryFailedJobs(deps, String(req.params.queue)),
  },
  {
    method: "post",
    path: "/admin/reconcile",
    operationId: "reconcileNow",
    summary: "Compare cached stock with MySQL now and repair confirmed drift",
    tag: "admin",
    auth: "admin",
    idempotency: admin,
    responses: {
      "200": { description: "The reconciler's report", schema: AdminResult },
      "202": { description: "Still running", schema: AdminResult },
    },
    handler: (deps) => reconcileNow(deps),
  },
  {
    method: "post",
    path: "/admin/orders/:orderId/refund",
    operationId: "refundOrder",
    summary: "Refund a paid order, whole or some lines; the units go back to stock",
    description:
      "No body (or `{}`) refunds everything not yet refunded; `{lines}` refunds those units. Refunding all that is left makes the order refunded; part of it, partially_refunded (a fulfilled or shipped order keeps its state). The payment provider is asked by a worker with the refund id as idempotency key; `refund.status` is pending until it confirmed.",
    tag: "admin",
    auth: "admin",
    body: { schema: RefundRequest, optional: true },
    idempotency: admin,
    responses: {
      "200": { description: "Refunded (recorded; the provider confirms it shortly)", schema: OrderMoved },
      "404": "Unknown order",
      "409":
        "INVALID_TRANSITION: the order is pending, failed, cancelled or refunded; REFUND_EXCEEDS_ORDER: a line asks for more than was bought and not yet refunded; or this Idempotency-Key is in flight",
    },
    handler: (deps, req) => refundOrder(deps, String(req.params.orderId), req.body, req.header("Idempotency-Key")),
  },
  {
    method: "post",
    path: "/admin/orders/:orderId/fulfil",
    operationId: "fulfilOrder",
    summary: "Mark a paid order fulfilled (packed): it can no longer be cancelled, only refunded",
    tag: "admin",
    auth: "admin",
    idempotency: admin,
    responses: {
      "200": { description: "Fulfilled", schema: OrderMoved },
      "404": "Unknown order",
      "409": "INVALID_TRANSITION: the order is not completed or partially_refunded",
    },
    handler: (deps, req) => fulfilOrder(deps, String(req.params.orderId)),
  },
  {
    method: "post",
    path: "/admin/orders/:orderId/ship",
    operationId: "shipOrder",
    summary: "Mark a paid order shipped, with an optional tracking reference",
    tag: "admin",
    auth: "admin",
    body: { schema: ShipRequest, optional: true },
    idempotency: admin,
    responses: {
      "200": { description: "Shipped", schema: OrderMoved },
      "404": "Unknown order",
      "409": "INVALID_TRANSITION: the order is not completed, partially_refunded, fulfilled or shipped",
    },
    handler: (deps, req) => shipOrder(deps, String(req.params.orderId), req.body),
  },
];
