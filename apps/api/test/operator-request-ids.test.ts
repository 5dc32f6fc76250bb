/**
 * Request ids, against the real Redis and MariaDB: X-Request-Id is echoed and follows a
 * request into its cart and checkout jobs, and one is made up when none (or an unusable
 * one) is given.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { postJson } from "../../../test/support/system";
import { api, product, setUpHealthSystem, uid } from "./support/health-system";

setUpHealthSystem();
// ---------------------------------------------------------------- request ids

describe("request ids", () => {
  it("echoes X-Request-Id and carries it into the cart and checkout jobs", async () => {
    const clientID = uid("c");
    const productID = await product(5, 200);
    const cartRequest = `req-cart-${randomUUID()}`;
    const added = await postJson(
      `${api.url}/addToCart`,
      { clientID, productID, quantity: 1 },
      { "x-request-id": cartRequest },
    );
    expect(added.status).toBe(200);
    expect(added.headers.get("x-request-id")).toBe(cartRequest);
    const cartJobs = await api.deps.queues.cart.getJobs(["completed", "active", "waiting", "failed"]);
    const cartJob = cartJobs.find((j) => (j.data as { clientId?: string }).clientId === clientID);
    expect(cartJob?.data).toMatchObject({ type: "addToCart", clientId: clientID, requestId: cartRequest });

    const checkoutRequest = `req-checkout-${randomUUID()}`;
    const done = await postJson(`${api.url}/checkOutCart`, { clientID }, { "x-request-id": checkoutRequest });
    expect(done.status).toBe(200);
    expect(done.headers.get("x-request-id")).toBe(checkoutRequest);
    const job = await api.deps.queues.checkout.getJob(String(done.body.orderId));
    expect(job?.data).toMatchObject({ orderId: done.body.orderId, requestId: checkoutRequest });
  });

  it("makes up a request id when none (or an unusable one) is given", async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const none = await fetch(`${api.url}/healthz`);
    expect(none.headers.get("x-request-id")).toMatch(uuid);
    for (const bad of ["has spaces in it", "x".repeat(101), "semi;colon"]) {
      const res = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": bad } });
      expect(res.headers.get("x-request-id"), bad).toMatch(uuid);
    }
    const two = await Promise.all([fetch(`${api.url}/healthz`), fetch(`${api.url}/healthz`)]);
    expect(two[0].headers.get("x-request-id")).not.toBe(two[1].headers.get("x-request-id"));
  });
});
