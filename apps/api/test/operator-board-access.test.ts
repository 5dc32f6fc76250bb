/**
 * Who may use Bull Board: admin or a read-only viewer over HTTP Basic (401 otherwise),
 * the viewer kept read-only, the page served at its mount path, and no write from another
 * site (a cross-site form post adds no job) while the board's own JSON writes still work.
 */
import { describe, expect, it } from "vitest";
import { startApi, type ApiBody } from "../../../test/support/system";
import { ADMIN, basic, call, uid } from "./support/operator-calls";
import { failedCartJob, redrivenJobCompletes } from "./support/operator-jobs";
import { cartQuantity, product } from "./support/operator-state";
import { ADMIN_TOKEN, api, env, setUpOperatorSystem, VIEWER_TOKEN } from "./support/operator-system";

setUpOperatorSystem();
// ---------------------------------------------------------------- Bull Board

describe("Bull Board access", () => {
  const board = "/admin/queues";

  it("refuses the board without credentials or with wrong ones (401, Basic challenge)", async () => {
    const wrongs: Array<Record<string, string>> = [
      {},
      basic("admin", "not-the-admin-token"),
      basic("viewer", ADMIN_TOKEN),
      basic("admin", VIEWER_TOKEN),
      basic("root", ADMIN_TOKEN),
      ADMIN,
    ];
    for (const path of [board, `${board}/`, `${board}/api/queues`, `${board}/queue/checkout`]) {
      for (const headers of wrongs) {
        const res = await call(api.url, "GET", path, { headers });
        expect(res.status, `GET ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
      }
    }
  });

  it("lets admin and viewer read the board API, which lists the five queues", async () => {
    for (const [user, password, readOnly] of [
      ["admin", ADMIN_TOKEN, false],
      ["viewer", VIEWER_TOKEN, true],
    ] as const) {
      const res = await fetch(`${api.url}${board}/api/queues`, { headers: basic(user, password) });
      expect(res.status, user).toBe(200);
      const body = (await res.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
      expect(body.queues.map((q) => q.name).sort()).toEqual(["cart", "checkout", "events", "inventory", "webhooks"]);
      expect(
        body.queues.every((q) => q.readOnlyMode === readOnly),
        user,
      ).toBe(true);
    }
  });

  it("serves the board page with its base href at the mount path (or PUBLIC_BASE_PATH + mount), and its assets load", async () => {
    const boardPage = async (base: string, headers: Record<string, string>) => {
      const res = await fetch(`${base}${board}`, { headers });
      expect(res.status).toBe(200);
      const html = await res.text();
      const baseHref = /<base href="([^"]*)"/.exec(html)?.[1];
      const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] ?? "");
      return { baseHref, assets };
    };

    const direct = await boardPage(api.url, basic("viewer", VIEWER_TOKEN));
    expect(direct.baseHref).toBe("/admin/queues/");
    expect(direct.assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of direct.assets) {
      const res = await fetch(new URL(asset, `${api.url}${direct.baseHref}`), {
        headers: basic("viewer", VIEWER_TOKEN),
      });
      expect(res.status, asset).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/javascript|css/);
    }

    // Behind a proxy that adds /shop, the browser resolves assets under /shop/admin/queues/,
    // which the proxy strips back to /admin/queues/.
    const proxied = await startApi(env, { PUBLIC_BASE_PATH: "/shop" });
    try {
      const page = await boardPage(proxied.url, basic("admin", ADMIN_TOKEN));
      expect(page.baseHref).toBe("/shop/admin/queues/");
      for (const asset of page.assets) {
        const seen = new URL(asset, `http://proxy.example${page.baseHref}`).pathname;
        expect(seen.startsWith("/shop/admin/queues/static/")).toBe(true);
        const res = await fetch(`${proxied.url}${seen.slice("/shop".length)}`, {
          headers: basic("admin", ADMIN_TOKEN),
        });
        expect(res.status, seen).toBe(200);
      }
    } finally {
      await proxied.close();
    }
  });

  it("keeps the viewer read-only (403 on retry, clean, empty, pause, remove) while the admin can retry", async () => {
    const clientId = uid("c");
    const productId = await product(10);
    const job = await failedCartJob(clientId, productId);
    const viewer = basic("viewer", VIEWER_TOKEN);
    const writes: Array<[string, string]> = [
      ["PUT", `${board}/api/queues/cart/retry/failed`],
      ["PUT", `${board}/api/queues/cart/clean/failed`],
      ["PUT", `${board}/api/queues/cart/clean/completed`],
      ["PUT", `${board}/api/queues/cart/${job.id}/retry`],
      ["PUT", `${board}/api/queues/cart/${job.id}/clean`],
      ["PUT", `${board}/api/queues/cart/empty`],
      ["PUT", `${board}/api/queues/cart/pause`],
      ["PUT", `${board}/api/queues/pause`],
      ["PUT", `${board}/api/queues/cart/obliterate`],
      ["POST", `${board}/api/queues/cart/add`],
      ["PATCH", `${board}/api/queues/cart/${job.id}/update-data`],
      ["DELETE", `${board}/api/queues/cart/${job.id}`],
    ];
    for (const [method, path] of writes) {
      const res = await call(api.url, method, path, { headers: viewer, body: {} });
      expect(res.status, `${method} ${path} as viewer`).toBe(403);
    }
    expect(await job.getState()).toBe("failed");
    expect(await api.deps.queues.cart.isPaused()).toBe(false);

    const retried = await fetch(`${api.url}${board}/api/queues/cart/retry/failed`, {
      method: "PUT",
      headers: basic("admin", ADMIN_TOKEN),
    });
    expect(retried.status).toBe(200);
    await redrivenJobCompletes(job);
    expect(await cartQuantity(clientId, productId)).toBe(1);

    // Bull Board cleans only jobs older than its 5 s grace time; what matters is that the admin may.
    const cleaned = await fetch(`${api.url}${board}/api/queues/cart/clean/completed`, {
      method: "PUT",
      headers: basic("admin", ADMIN_TOKEN),
    });
    expect(cleaned.status).toBe(200);
  });
});

// ---------------------------------------------------------------- Bull Board: other sites, secrets

describe("Bull Board writes from other sites", () => {
  const board = "/admin/queues";
  const ADMIN_BASIC = basic("admin", ADMIN_TOKEN);
  const waitingCheckouts = () => api.deps.queues.checkout.getWaitingCount();

  it("refuses a cross-site form post to the write API (415/403) and adds no job", async () => {
    const before = await waitingCheckouts();
    const form = new URLSearchParams({ name: "forged", data: "{}" }).toString();
    const attempts: Array<{ what: string; headers: Record<string, string>; body: string; status: number }> = [
      {
        what: "form post from another site",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example" },
        body: form,
        status: 403,
      },
      {
        what: "form post with no Origin",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form,
        status: 415,
      },
      {
        what: "text/plain post (a form's other encoding)",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 415,
      },
      {
        what: "JSON from another site",
        headers: { "content-type": "application/json", origin: "http://evil.example" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 403,
      },
      {
        what: "JSON whose Referer is another site (no Origin)",
        headers: { "content-type": "application/json", referer: "http://evil.example/page" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 403,
      },
      {
        what: "JSON from an opaque origin (a sandboxed frame, a file)",
        headers: { "content-type": "application/json", origin: "null" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 403,
      },
      {
        what: "JSON from the same host on another port",
        headers: { "content-type": "application/json", origin: "http://127.0.0.1:1" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 403,
      },
    ];
    for (const attempt of attempts) {
      const res = await fetch(`${api.url}${board}/api/queues/checkout/add`, {
        method: "POST",
        headers: { ...ADMIN_BASIC, ...attempt.headers },
        body: attempt.body,
      });
      expect(res.status, attempt.what).toBe(attempt.status);
      const body = (await res.json()) as ApiBody;
      expect(body.error, attempt.what).toMatch(attempt.status === 403 ? /origin|referer/i : /application\/json/);
    }
    // A foreign Origin is refused on the other write methods too.
    const paused = await fetch(`${api.url}${board}/api/queues/checkout/pause`, {
      method: "PUT",
      headers: { ...ADMIN_BASIC, origin: "http://evil.example" },
    });
    expect(paused.status).toBe(403);
    expect(await api.deps.queues.checkout.isPaused()).toBe(false);
    expect(await waitingCheckouts()).toBe(before);
  });

  it("still takes the board's own JSON writes (same origin, or no Origin as from curl)", async () => {
    const before = await waitingCheckouts();
    const sources: Array<Record<string, string>> = [
      { origin: api.url },
      // Behind a trusted (loopback) proxy, the host the browser saw is X-Forwarded-Host.
      { origin: "https://shop.example", "x-forwarded-host": "shop.example" },
      { referer: `${api.url}${board}/queue/checkout` },
      {},
    ];
    for (const headers of sources) {
      const res = await fetch(`${api.url}${board}/api/queues/checkout/add`, {
        method: "POST",
        headers: { ...ADMIN_BASIC, "content-type": "application/json", ...headers },
        body: JSON.stringify({ name: "operator-added", data: { note: "from the board" } }),
      });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      const { job } = (await res.json()) as { job: { id: string } };
      await api.deps.queues.checkout.remove(job.id);
    }
    expect(await waitingCheckouts()).toBe(before);
  });
});
