import { AdminOrdersQuery } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { parseInput, success, type HttpResult } from "../http/result";
import { infrastructureFailure } from "../handlers/errors";
import { OrderKey, orderPage, orderView } from "../handlers/order-pages";
import { cursorOf } from "../handlers/paging";

const Query = AdminOrdersQuery.extend({ cursor: cursorOf("admin-orders", OrderKey) });

/**
 * GET /admin/orders?state=&clientID=&since=&until=: every client's orders, newest first,
 * a page at a time. Each filter is an equality on the leading column of an index
 * (orders_client_created, orders_state_created) or, with neither, the window runs along
 * orders_created; since/until bound created_at (since inclusive, until exclusive).
 */
export async function listAdminOrders(deps: ApiDeps, query: unknown): Promise<HttpResult> {
  const q = parseInput(Query, query ?? {});
  if (!q.ok) return q.result;
  const { state, clientID, since, until } = q.data;
  try {
    const page = await orderPage(deps, "admin-orders", q.data, (db) => {
      if (clientID !== undefined) void db.where("client_id", clientID);
      if (state !== undefined) void db.where("state", state);
      if (since !== undefined) void db.where("created_at", ">=", new Date(since));
      if (until !== undefined) void db.where("created_at", "<", new Date(until));
    });
    return success({
      orders: page.rows.map((r) => orderView(r)),
      limit: q.data.limit,
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    });
  } catch (err) {
    return infrastructureFailure(err);
  }
}
