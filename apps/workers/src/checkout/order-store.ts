import { parseRow, parseRows, type Knex } from "@oms/shared";
import { z } from "zod";
import type { CreateOrderResult, Failure, FailureCode, Order } from "./order";
import type { GroupCommitWriter } from "../db/writer";
import { outcomeOfFailure, type OutcomeCounter } from "../observability/outcomes";
import { createPendingOrders } from "./order-writes";
import { completeOrders, failOrders, type CompleteOutcome, type FailOutcome } from "./order-end-writes";
import { ItemRow, OrderRow, toOrder } from "./order-rows";

const KeyRow = z.object({ idempotency_key: z.string() });
const OrderIdRow = z.object({ order_id: z.string() });

export type { CreateOrderResult, Failure, FailureCode, Order, OrderItem } from "./order";

/**
 * Orders in MySQL: the durable record of every checkout and its one terminal state.
 * Every path that ends an order (the saga, the final-failure path, the sweep, the
 * recovery) ends it here, and only the call that moved it out of pending counts its
 * outcome, so each checkout is counted once however often its job is replayed.
 * Counts are not awaited: the counter never throws, and its command goes out ahead of
 * the checkout's next Redis call on the same connection, so it costs no round trip.
 */
export class OrderStore {
  constructor(
    private readonly db: Knex,
    private readonly writer: GroupCommitWriter,
    private readonly countOutcome: OutcomeCounter = async () => undefined,
  ) {}

  async get(orderId: string, trx: Knex = this.db): Promise<Order | null> {
    const row = parseRow(OrderRow, await trx("orders").where({ order_id: orderId }).first());
    if (!row) return null;
    const items = parseRows(ItemRow, await trx("order_items").where({ order_id: orderId }).orderBy("product_id"));
    return toOrder(row, items);
  }

  /**
   * Snapshots the client's cart into a pending order with its prices. Idempotent by
   * order id; written with the other checkouts queued at the same time.
   */
  async createPending(orderId: string, clientId: string): Promise<CreateOrderResult> {
    const result = await this.writer.submit(createPendingOrders, { orderId, clientId });
    // A refusal is the checkout's end (there is no order to replay it from).
    if (result.kind === "empty_cart") void this.countOutcome("empty_cart");
    if (result.kind === "busy") void this.countOutcome("failed");
    return result;
  }

  /** Ends a pending order as failed, and answers the order as it now stands. */
  async failAndRead(orderId: string, failure: Failure): Promise<FailOutcome> {
    const outcome = await this.writer.submit(failOrders, { orderId, ...failure });
    if (outcome.changed) void this.countOutcome(outcomeOfFailure(failure.code));
    return outcome;
  }

  /** An order another transaction ended (the classic design's decline): count it. */
  async ended(code: FailureCode): Promise<void> {
    void this.countOutcome(outcomeOfFailure(code));
  }

  /** Ends a pending order as failed. Returns false when it had already ended. */
  async fail(orderId: string, code: FailureCode, reason: string): Promise<boolean> {
    return (await this.failAndRead(orderId, { code, reason })).changed;
  }

  /**
   * The commit: marks the order completed with its payment reference, records its
   * pending stock decrements in reserve_purchase, and takes the bought quantities out of
   * the cart, in one transaction with the other commits queued at the same time.
   * Replays find the order completed and change nothing.
   */
  async complete(order: Order, paymentRef: string, options: { stockTaken?: boolean } = {}): Promise<CompleteOutcome> {
    const outcome = await this.writer.submit(completeOrders, { order, paymentRef, ...options });
    if (outcome === "completed") void this.countOutcome("completed");
    return outcome;
  }

  /** Failed orders whose charge still stands: a refund that failed earlier, to be retried. */
  async failedWithCharge(limit: number): Promise<string[]> {
    const rows = parseRows(
      KeyRow,
      await this.db("payments as p")
        .join("orders as o", "o.order_id", "p.order_id")
        .where({ "p.status": "succeeded", "o.state": "failed" })
        .limit(limit)
        .select("p.idempotency_key"),
    );
    return rows.map((r) => r.idempotency_key);
  }

  /** Pending orders last touched before `olderThan`: candidates for the stuck-order sweep. */
  async stalePending(olderThan: Date, limit: number): Promise<string[]> {
    const rows = parseRows(
      OrderIdRow,
      await this.db("orders")
        .where({ state: "pending" })
        .where("updated_at", "<", olderThan)
        .limit(limit)
        .select("order_id"),
    );
    return rows.map((r) => r.order_id);
  }
}
