/**
 * A realistic shopper over HTTP keep-alive: adds to its cart, checks out with an
 * Idempotency-Key, retries 503/504/connection errors with backoff (the same key for
 * the checkout), follows a 202 Pending by polling its order, and records every answer.
 */
import { errorMessage } from "@oms/shared";
import { RETRYABLE, backoff, type HttpAnswer, type HttpClient } from "./http-client";
import type { Random } from "./prng";
import { sleep } from "./infra";

export interface CartLinePlan {
  productId: string;
  quantity: number;
}

export interface ShopperPlan {
  clientId: string;
  /** Offset from the start of the load, in ms. */
  startAtMs: number;
  lines: CartLinePlan[];
  paymentToken: "tok_ok" | "tok_decline" | "tok_error";
  idempotencyKey: string;
  respondAsync: boolean;
  /** Cancel the order once told it succeeded (lifecycle.ts). */
  cancelAfter: boolean;
}

/** What the shopper was finally told about its checkout. */
export type FinalAnswer =
  | { kind: "success"; orderId: string; via: "response" | "poll" }
  | { kind: "failed"; orderId: string; status: number; error: string; via: "response" | "poll" }
  | { kind: "rejected"; status: number; error: string }
  | { kind: "unknown_order"; orderId: string }
  | { kind: "none"; reason: string };

export interface AnswerLog {
  /** When the request was sent and when its answer came, in ms from the run's start. */
  sentAt: number;
  at: number;
  what: string;
  status: number | "error";
  detail?: string;
}

export interface ShopperRecord {
  plan: ShopperPlan;
  answers: AnswerLog[];
  /** Order ids the API handed this shopper with 200 or 202 (accepted checkouts). */
  accepted: string[];
  /** Order id -> what the shopper was told about it ("success" or "failed"). */
  told: Record<string, "success" | "failed">;
  checkoutAttempted: boolean;
  final: FinalAnswer;
  /** HTTP 500 answers (a server error for what is never a client's mistake here). */
  serverErrors: number;
}

export interface ShopperLimits {
  /** Retries of one add-to-cart. */
  cartAttempts: number;
  /** Checkout submissions (same Idempotency-Key). */
  checkoutAttempts: number;
  /** How long to follow a Pending order. */
  pollBudgetMs: number;
}

const ORDER_IN_PROGRESS = /in progress \(order ([0-9a-f-]{36})\)/;

function errorText(body: Record<string, unknown>): string {
  return typeof body.error === "string" ? body.error : "";
}

/** Notes each answer in the shopper's log with when its request went out (`send()` marks that). */
function answerLog(record: ShopperRecord, t0: number) {
  let sentAt = 0;
  return {
    send: () => {
      sentAt = Date.now() - t0;
    },
    note: (what: string, status: number | "error", detail?: string) => {
      record.answers.push({ sentAt, at: Date.now() - t0, what, status, ...(detail ? { detail } : {}) });
    },
  };
}

/** Runs one shopper to its final answer. Never throws. */
export async function runShopper(
  http: HttpClient,
  plan: ShopperPlan,
  rng: Random,
  limits: ShopperLimits,
  t0: number,
): Promise<ShopperRecord> {
  const record: ShopperRecord = {
    plan,
    answers: [],
    accepted: [],
    told: {},
    checkoutAttempted: false,
    final: { kind: "none", reason: "not finished" },
    serverErrors: 0,
  };
  const { send, note } = answerLog(record, t0);

  for (const line of plan.lines) {
    for (let attempt = 0; attempt < limits.cartAttempts; attempt++) {
      try {
        send();
        const res = await http.request("POST", "/addToCart", {
          clientID: plan.clientId,
          productID: line.productId,
          quantity: line.quantity,
        });
        note(`addToCart ${line.productId}x${line.quantity}`, res.status, errorText(res.body) || undefined);
        if (res.status === 500) record.serverErrors++;
        if (!RETRYABLE.has(res.status)) break;
      } catch (err) {
        note(`addToCart ${line.productId}x${line.quantity}`, "error", errorMessage(err));
      }
      await sleep(backoff(rng, attempt));
    }
  }

  record.checkoutAttempted = true;
  const headers: Record<string, string> = { "Idempotency-Key": plan.idempotencyKey };
  if (plan.respondAsync) headers.Prefer = "respond-async";
  for (let attempt = 0; attempt < limits.checkoutAttempts; attempt++) {
    let res: HttpAnswer;
    try {
      send();
      res = await http.request(
        "POST",
        "/checkOutCart",
        { clientID: plan.clientId, paymentToken: plan.paymentToken },
        headers,
      );
    } catch (err) {
      note("checkOutCart", "error", errorMessage(err));
      record.final = { kind: "none", reason: `network error: ${errorMessage(err)}` };
      await sleep(backoff(rng, attempt));
      continue;
    }
    const error = errorText(res.body);
    const orderId = typeof res.body.orderId === "string" ? res.body.orderId : undefined;
    note("checkOutCart", res.status, [orderId, error].filter(Boolean).join(" ") || undefined);
    if (res.status === 500) record.serverErrors++;

    if (res.status === 200 && res.body.status === "Success" && orderId) {
      record.accepted.push(orderId);
      record.told[orderId] = "success";
      record.final = { kind: "success", orderId, via: "response" };
      return record;
    }
    if (res.status === 202 && orderId) {
      record.accepted.push(orderId);
      record.final = await follow(http, record, orderId, limits, t0);
      return record;
    }
    if (res.status === 409 && !orderId && res.body.state !== "failed") {
      // "a request with this Idempotency-Key is being processed": come back shortly.
      record.final = { kind: "none", reason: error };
      await sleep(backoff(rng, attempt) + retryAfterMs(res));
      continue;
    }
    if (res.status === 409 && orderId) {
      const other = ORDER_IN_PROGRESS.exec(error)?.[1];
      if (other && other !== orderId) {
        // Another checkout of this cart is running: that one is ours to follow.
        record.final = await follow(http, record, other, limits, t0);
        return record;
      }
    }
    if ((res.status === 402 || res.status === 409) && orderId) {
      record.told[orderId] = "failed";
      record.final = { kind: "failed", orderId, status: res.status, error, via: "response" };
      return record;
    }
    if (RETRYABLE.has(res.status)) {
      record.final = { kind: "none", reason: `HTTP ${res.status} ${error}` };
      await sleep(backoff(rng, attempt) + retryAfterMs(res));
      continue;
    }
    record.final = { kind: "rejected", status: res.status, error };
    return record;
  }
  return record;
}

function retryAfterMs(res: HttpAnswer): number {
  const value = Number(res.headers["retry-after"]);
  return Number.isFinite(value) ? Math.min(value, 3) * 1_000 : 0;
}

/** Polls GET /orders/:id until the order is terminal, unknown, or the budget runs out. */
async function follow(
  http: HttpClient,
  record: ShopperRecord,
  orderId: string,
  limits: ShopperLimits,
  t0: number,
): Promise<FinalAnswer> {
  const { send, note: note } = answerLog(record, t0);
  const deadline = Date.now() + limits.pollBudgetMs;
  let notFound = 0;
  let last = "no answer";
  while (Date.now() < deadline) {
    await sleep(700);
    let res: HttpAnswer;
    try {
      send();
      res = await http.request("GET", `/orders/${orderId}`, undefined, {}, 10_000);
    } catch (err) {
      last = errorMessage(err);
      continue;
    }
    if (res.status === 500) record.serverErrors++;
    const order = res.body.order as { state?: string; failureReason?: string | null } | undefined;
    if (res.status === 200 && order?.state === "completed") {
      note(`GET /orders ${orderId}`, 200, "completed");
      record.told[orderId] = "success";
      return { kind: "success", orderId, via: "poll" };
    }
    if (res.status === 200 && order?.state === "failed") {
      note(`GET /orders ${orderId}`, 200, `failed: ${order.failureReason ?? ""}`);
      record.told[orderId] = "failed";
      return { kind: "failed", orderId, status: 200, error: order.failureReason ?? "failed", via: "poll" };
    }
    if (res.status === 404) {
      // A 404 can be momentary (the job's state is unreadable while Redis restarts): look again.
      if (++notFound >= 4) {
        note(`GET /orders ${orderId}`, 404, errorText(res.body));
        return { kind: "unknown_order", orderId };
      }
      continue;
    }
    notFound = 0;
    last = `HTTP ${res.status} ${order?.state ?? errorText(res.body)}`;
  }
  note(`GET /orders ${orderId}`, "error", `gave up following: ${last}`);
  return { kind: "none", reason: `order ${orderId} not terminal within ${limits.pollBudgetMs} ms (${last})` };
}
