import { withTransaction, type Knex, type OrderState } from "@oms/shared";

export interface OrderItem {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Order {
  orderId: string;
  clientId: string;
  state: OrderState;
  totalCents: number;
  paymentRef: string | null;
  failureCode: string | null;
  failureReason: string | null;
  items: OrderItem[];
}

export type FailureCode =
  | "empty_cart"
  | "out_of_stock"
  | "unknown_product"
  | "payment_declined"
  | "hold_expired"
  | "checkout_in_progress"
  | "checkout_failed";

export type CreateOrderResult =
  { kind: "created" | "existing"; order: Order } | { kind: "empty_cart" } | { kind: "busy"; otherOrderId: string };

/** Orders in MySQL: the durable record of every checkout and its one terminal state. */
export class OrderStore {
  constructor(private readonly db: Knex) {}

  async get(orderId: string, trx: Knex = this.db): Promise<Order | null> {
    const row = (await trx("orders").where({ order_id: orderId }).first()) as OrderRow | undefined;
    if (!row) return null;
    const items = (await trx("order_items").where({ order_id: orderId }).orderBy("product_id")) as ItemRow[];
    return toOrder(row, items);
  }

  /**
   * Snapshots the client's cart into a pending order with its prices. Idempotent by
   * order id. Locks the client's cart rows, so a second checkout of the same cart
   * waits, then sees the first pending order and backs off.
   */
  async createPending(orderId: string, clientId: string): Promise<CreateOrderResult> {
    // READ COMMITTED: every read below sees what committed before it, not a snapshot
    // taken before the cart lock was granted (which hid the first order from a second).
    return withTransaction(
      this.db,
      async (trx) => {
        // Only the cart rows are locked: a join here would also lock the product rows,
        // and every checkout of a hot product would queue behind one row.
        const cart = (await trx("client_cart")
          .where({ client_id: clientId })
          .orderBy("product_id")
          .forUpdate()
          .select("product_id", "quantity")) as Array<{
          product_id: string;
          quantity: number;
        }>;
        // This order (an earlier delivery's, or the API's placeholder) and any other
        // pending order of the client, in one read.
        const known = (await trx("orders")
          .where({ order_id: orderId })
          .orWhere({ client_id: clientId, state: "pending" })
          .select("*")) as OrderRow[];
        const row = known.find((o) => o.order_id === orderId);
        const items = row
          ? ((await trx("order_items").where({ order_id: orderId }).orderBy("product_id")) as ItemRow[])
          : [];
        // A placeholder (pending, no items) is what the API records when it answers 202
        // before a worker got here: fill it in; anything else is an earlier delivery's order.
        const placeholder = row?.state === "pending" && items.length === 0;
        if (row && !placeholder) return { kind: "existing", order: toOrder(row, items) };
        // Refusals are recorded too, so every accepted checkout ends in one state MySQL knows.
        const refuse = async (code: FailureCode, reason: string) => {
          await trx.raw(
            "INSERT INTO orders (order_id, client_id, state, failure_code, failure_reason) VALUES (?, ?, 'failed', ?, ?) ON DUPLICATE KEY UPDATE state = 'failed', failure_code = VALUES(failure_code), failure_reason = VALUES(failure_reason)",
            [orderId, clientId, code, reason],
          );
        };
        if (cart.length === 0) {
          await refuse("empty_cart", "the cart was empty");
          return { kind: "empty_cart" };
        }

        const other = known.find((o) => o.order_id !== orderId);
        if (other) {
          await refuse(
            "checkout_in_progress",
            `another checkout of this cart is in progress (order ${other.order_id})`,
          );
          return { kind: "busy", otherOrderId: other.order_id };
        }

        const prices = (await trx("product_details")
          .whereIn(
            "product_id",
            cart.map((l) => l.product_id),
          )
          .select("product_id", "price_cents")) as Array<{
          product_id: string;
          price_cents: number;
        }>;
        const priceOf = new Map(prices.map((p) => [p.product_id, p.price_cents]));
        const lines = cart.map((l) => ({ ...l, price_cents: priceOf.get(l.product_id) ?? 0 }));
        const totalCents = lines.reduce((sum, l) => sum + l.quantity * l.price_cents, 0);
        if (placeholder) {
          await trx("orders").where({ order_id: orderId }).update({ total_cents: totalCents });
        } else {
          await trx("orders").insert({
            order_id: orderId,
            client_id: clientId,
            state: "pending",
            total_cents: totalCents,
          });
        }
        await trx("order_items").insert(
          lines.map((l) => ({
            order_id: orderId,
            product_id: l.product_id,
            quantity: l.quantity,
            unit_price_cents: l.price_cents,
          })),
        );
        const order: Order = {
          orderId,
          clientId,
          state: "pending",
          totalCents,
          paymentRef: null,
          failureCode: null,
          failureReason: null,
          items: lines.map((l) => ({ productId: l.product_id, quantity: l.quantity, unitPriceCents: l.price_cents })),
        };
        return { kind: "created", order };
      },
      { isolationLevel: "read committed" },
    );
  }

  /** Ends a pending order as failed. Returns false when it had already ended. */
  async fail(orderId: string, code: FailureCode, reason: string): Promise<boolean> {
    const changed = await this.db("orders")
      .where({ order_id: orderId, state: "pending" })
      .update({ state: "failed", failure_code: code, failure_reason: reason.slice(0, 500) });
    return changed === 1;
  }

  /**
   * The commit: one transaction marks the order completed with its payment reference,
   * records its pending stock decrements in reserve_purchase, and takes the bought
   * quantities out of the cart. Replays find the order completed and change nothing.
   */
  async complete(order: Order, paymentRef: string): Promise<"completed" | "already_completed" | "already_failed"> {
    return withTransaction(this.db, async (trx) => {
      const changed = await trx("orders")
        .where({ order_id: order.orderId, state: "pending" })
        .update({ state: "completed", payment_ref: paymentRef, completed_at: trx.fn.now(3) });
      if (changed === 0) {
        const current = (await trx("orders").where({ order_id: order.orderId }).first("state")) as
          { state: OrderState } | undefined;
        return current?.state === "completed" ? "already_completed" : "already_failed";
      }
      await trx("reserve_purchase").insert(
        order.items.map((i) => ({ reserve_id: order.orderId, product_id: i.productId, quantity: i.quantity })),
      );
      // Lines the order took whole go in one DELETE; a line the client added to since
      // the snapshot keeps the difference.
      const emptied = await trx("client_cart")
        .where({ client_id: order.clientId })
        .where((q) => {
          for (const item of order.items)
            void q.orWhere((line) => line.where({ product_id: item.productId }).where("quantity", "<=", item.quantity));
        })
        .delete();
      if (emptied < order.items.length) {
        for (const item of order.items) {
          await trx("client_cart")
            .where({ client_id: order.clientId, product_id: item.productId })
            .where("quantity", ">", item.quantity)
            .decrement("quantity", item.quantity);
        }
      }
      return "completed";
    });
  }

  /** Failed orders whose charge still stands: a refund that failed earlier, to be retried. */
  async failedWithCharge(limit: number): Promise<string[]> {
    const rows = (await this.db("payments as p")
      .join("orders as o", "o.order_id", "p.order_id")
      .where({ "p.status": "succeeded", "o.state": "failed" })
      .limit(limit)
      .select("p.idempotency_key")) as Array<{ idempotency_key: string }>;
    return rows.map((r) => r.idempotency_key);
  }

  /** Pending orders last touched before `olderThan`: candidates for the stuck-order sweep. */
  async stalePending(olderThan: Date, limit: number): Promise<string[]> {
    const rows = (await this.db("orders")
      .where({ state: "pending" })
      .where("updated_at", "<", olderThan)
      .limit(limit)
      .select("order_id")) as Array<{ order_id: string }>;
    return rows.map((r) => r.order_id);
  }
}

interface OrderRow {
  order_id: string;
  client_id: string;
  state: OrderState;
  total_cents: number | string;
  payment_ref: string | null;
  failure_code: string | null;
  failure_reason: string | null;
}

interface ItemRow {
  product_id: string;
  quantity: number;
  unit_price_cents: number;
}

function toOrder(row: OrderRow, items: ItemRow[]): Order {
  return {
    orderId: row.order_id,
    clientId: row.client_id,
    state: row.state,
    totalCents: Number(row.total_cents),
    paymentRef: row.payment_ref,
    failureCode: row.failure_code,
    failureReason: row.failure_reason,
    items: items.map((i) => ({ productId: i.product_id, quantity: i.quantity, unitPriceCents: i.unit_price_cents })),
  };
}
