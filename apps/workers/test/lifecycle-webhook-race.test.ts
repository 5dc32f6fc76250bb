/**
 * Issue 14's race: cancels, refunds and a webhook delivery all racing the checkout that
 * completes the order. The receiver answers while the checkouts run and fails one in
 * four deliveries, so retries overlap the moves. Each order ends with exactly one
 * refund; the receiver accepts each event once, signed, and an order's events in the
 * order they happened (completed before cancelled or refunded); stock is conserved.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { EVENT_TYPES } from "@oms/shared";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { addToCartOk, postJson, type ApiResponse, type RunningApi } from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";
import { adminPost, postEmpty, refundsSettled } from "../../../test/support/lifecycle";
import { Receiver, readmeVerifier, type Received } from "./fixtures/receiver";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "admin-token-for-webhook-races";
const SECRET = "whsec_race_0123456789abcdef";
const verify = readmeVerifier();

let env: TestEnv;
let api: RunningApi;
let receiver: Receiver;

useSystem(
  {
    ADMIN_TOKEN,
    EVENTS_RELAY_INTERVAL_MS: "50",
    WEBHOOK_BACKOFF_MS: "100",
    WEBHOOK_BACKOFF_MAX_MS: "300",
    WEBHOOK_TIMEOUT_MS: "2000",
  },
  (system) => ({ env, api } = system),
);

beforeAll(async () => {
  receiver = await Receiver.down();
  await receiver.up((_request, index) => (index % 4 === 1 ? 500 : 200));
  const registered = await postJson(
    `${api.url}/admin/webhooks`,
    { url: receiver.url, events: EVENT_TYPES, secret: SECRET },
    { authorization: `Bearer ${ADMIN_TOKEN}` },
  );
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
});

afterAll(async () => {
  await receiver?.close();
});

interface Delivered {
  id: string;
  type: string;
  orderId?: string;
}
const parse = (r: Received) => JSON.parse(r.body) as Delivered;
const accepted = () => receiver.requests.filter((r) => r.answered === 200);

it("cancels, refunds and deliveries racing the checkout: one refund, every event once and in order", async () => {
  const product = `race-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: product, quantity: 100, priceCents: 250 }]);
  const orders: string[] = [];
  let sawPending = 0;
  for (let round = 0; round < 4; round++) {
    const client = `wr-${randomUUID().slice(0, 8)}`;
    await addToCartOk(api.url, client, product, 1 + (round % 2));
    const started = await postJson(`${api.url}/checkOutCart`, { clientID: client }, { Prefer: "respond-async" });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const orderId = String(started.body.orderId);
    orders.push(orderId);
    const answers: Array<{ what: string; res: ApiResponse }> = [];
    for (let batch = 0; batch < 400 && !answers.some((a) => a.res.status === 200); batch++) {
      await Promise.all([
        ...["cancel", "cancel"].map((what) =>
          postEmpty(`${api.url}/orders/${orderId}/cancel`).then((res) => answers.push({ what, res })),
        ),
        ...["refund", "refund"].map((what) =>
          adminPost(api.url, ADMIN_TOKEN, `/orders/${orderId}/refund`).then((res) => answers.push({ what, res })),
        ),
      ]);
    }
    if (answers.some((a) => a.res.body.state === "pending")) sawPending++;
    const wins = answers.filter((a) => a.res.status === 200);
    expect(wins, JSON.stringify(answers.map((a) => [a.what, a.res.status, a.res.body.code]))).toHaveLength(1);
    for (const lost of answers.filter((a) => a.res.status !== 200))
      expect(lost.res.body.code).toBe("INVALID_TRANSITION");
    const figures = await refundsSettled(env, orderId);
    expect(figures.refunds).toHaveLength(1);
    expect(figures.provider).toHaveLength(1);
  }

  // Moves were refused while orders were still pending: they really raced the checkouts.
  expect(sawPending).toBeGreaterThan(0);

  // Every order's completion and its one cancel or refund reach the receiver, in that order.
  const byOrder = await eventually(
    "each order's two events accepted by the receiver",
    async () => {
      const mine = new Map(
        orders.map((id) => [
          id,
          accepted()
            .map(parse)
            .filter((e) => e.orderId === id),
        ]),
      );
      return [...mine.values()].every((events) => events.length >= 2) ? mine : undefined;
    },
    30_000,
    100,
  );
  for (const [orderId, events] of byOrder) {
    expect(
      events.map((e) => e.type),
      orderId,
    ).toHaveLength(2);
    expect(events[0]?.type).toBe("order.completed");
    expect(["order.cancelled", "order.refunded"]).toContain(events[1]?.type);
  }
  // Retries after a 500 carry the same event id; none was accepted twice; all are signed.
  const ids = accepted().map((r) => parse(r).id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const r of receiver.requests) expect(verify(String(r.headers["oms-signature"]), r.body, SECRET)).toBe(true);
  expect(receiver.requests.some((r) => r.answered === 500)).toBe(true);
  await assertConservation(env, new Map([[product, 100]]));
}, 120_000);
