/**
 * What Bull Board shows: payment tokens redacted for everyone, and the viewer sent no
 * stack traces, Redis version, OS or port (the admin keeps them); no X-Powered-By anywhere.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { basic, uid } from "./support/operator-calls";
import { failedCartJob } from "./support/operator-jobs";
import { product } from "./support/operator-state";
import { ADMIN_TOKEN, api, setUpOperatorSystem, VIEWER_TOKEN } from "./support/operator-system";

setUpOperatorSystem();

describe("what the board shows", () => {
  const board = "/admin/queues";
  const viewer = basic("viewer", VIEWER_TOKEN);
  const admin = basic("admin", ADMIN_TOKEN);
  const get = async (path: string, headers: Record<string, string>) => {
    const res = await fetch(`${api.url}${board}${path}`, { headers });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  it("redacts payment tokens in job data, for viewer and admin alike", async () => {
    const secret = `tok_secret_${randomUUID().slice(0, 8)}`;
    const orderId = randomUUID();
    await api.deps.queues.checkout.add(
      "checkout",
      { type: "checkout", orderId, clientId: uid("c"), paymentToken: secret },
      { jobId: orderId },
    );
    try {
      for (const headers of [viewer, admin]) {
        const list = await get("/api/queues?activeQueue=checkout&status=waiting", headers);
        expect(list.status).toBe(200);
        expect(list.text).toContain(orderId);
        expect(list.text).not.toContain(secret);
        expect(list.text).toContain('"paymentToken":"[redacted]"');
        const one = await get(`/api/queues/checkout/${orderId}`, headers);
        expect(one.status).toBe(200);
        expect(one.text).toContain(orderId);
        expect(one.text).not.toContain(secret);
      }
    } finally {
      await api.deps.queues.checkout.remove(orderId);
    }
  });

  it("sends the viewer no stack traces (the admin keeps them)", async () => {
    const job = await failedCartJob(uid("c"), await product(5));
    const stackLine = /\bat .*[\\/].*:\d+:\d+/;
    try {
      for (const path of ["/api/queues?activeQueue=cart&status=failed", `/api/queues/cart/${job.id}`]) {
        const seen = await get(path, viewer);
        expect(seen.status, path).toBe(200);
        expect(seen.text, path).toContain(String(job.id));
        expect(seen.text, path).not.toMatch(stackLine);
        expect(seen.text, path).not.toContain(process.cwd());
        const asAdmin = await get(path, admin);
        expect(asAdmin.text, path).toMatch(stackLine);
      }
    } finally {
      // Later tests count the queue's failed jobs.
      await job.remove();
    }
  });

  it("shows the viewer no Redis version, OS or port; the admin still sees them", async () => {
    const seen = await get("/api/redis/stats", viewer);
    expect(seen.text).not.toMatch(/"(version|os|port)"/);
    expect(seen.status).toBe(403);
    const asAdmin = await get("/api/redis/stats", admin);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.text).toMatch(/"version"/);
  });

  it("answers without X-Powered-By anywhere", async () => {
    const paths = ["", "/", "/api/queues", "/api/redis/stats", "/queue/checkout", "/nowhere"];
    for (const headers of [viewer, admin, {}]) {
      for (const path of paths) {
        const res = await get(path, headers);
        expect(res.headers.get("x-powered-by"), `${path} ${JSON.stringify(headers)}`).toBeNull();
      }
    }
    for (const path of ["/healthz", "/products", "/nowhere", "/documentation", "/metrics"]) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.headers.get("x-powered-by"), path).toBeNull();
    }
  });
});
