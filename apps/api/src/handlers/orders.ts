import type { ApiDeps } from "../deps";
import { fieldOf, PageQuery, parseRow, parseRows } from "@oms/shared";
import { failure, parseId, parseInput, success, type HttpResult } from "../http/result";
import { refundsOf } from "../orders/lifecycle";
import { infrastructureFailure } from "./errors";
import { parseOrderId } from "./order-lifecycle";
import { OrderItemRow, OrderKey, OrderRow, orderPage, orderView } from "./order-pages";
import { cursorOf } from "./paging";

export const ClientOrdersQuery = PageQuery.extend({ cursor: cursorOf("client-orders", OrderKey) });

/**
 * GET /orders/:orderId: state, items, total, failure reason and timestamps. With `owner`
 * (JWT on) an order of anyone else is answered exactly as one that does not exist, so
 * order ids cannot be probed.
 */
export async function getOrder(deps: ApiDeps, orderId: string, owner?: string): Promise<HttpResult> {
  const id = parseOrderId(orderId);
  if (!id.ok) return id.result;
  const unknown = failure("NOT_FOUND", `unknown order ${id.id}`);
  const visible = (clientId: unknown) => owner === undefined || clientId === owner;
  try {
    const row = parseRow(OrderRow, await deps.db("orders").where({ order_id: id.id }).first());
    if (!row) {
      // Accepted but not yet picked up by a worker: the job exists, the row not yet.
      const job = await deps.queues.checkout.getJob(id.id);
      const state = job ? await job.getState() : "unknown";
      if (
        job &&
        visible(fieldOf(job.data, "clientId")) &&
        (state === "waiting" || state === "delayed" || state === "active" || state === "prioritized")
      ) {
        return success({ order: { orderId: id.id, state: "pending", items: [], totalCents: 0 } });
      }
      return unknown;
    }
    if (!visible(row.client_id)) return unknown;
    const items = parseRows(
      OrderItemRow,
      await deps.db("order_items").where({ order_id: id.id }).orderBy("product_id"),
    );
    return success({ order: { ...orderView(row, items), refunds: await refundsOf(deps.db, id.id) } });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** GET /clients/:clientID/orders: newest first, a page at a time (keyset on the client's created_at index). */
export async function listClientOrders(deps: ApiDeps, clientID: string, query: unknown): Promise<HttpResult> {
  const id = parseId("clientID", clientID);
  if (!id.ok) return id.result;
  const q = parseInput(ClientOrdersQuery, query ?? {});
  if (!q.ok) return q.result;
  try {
    const page = await orderPage(deps, "client-orders", q.data, (db) => void db.where({ client_id: id.id }));
    return success({
      clientID: id.id,
      orders: page.rows.map((r) => orderView(r)),
      limit: q.data.limit,
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    });
  } catch (err) {
    return infrastructureFailure(err);
  }
}
