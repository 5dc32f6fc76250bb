/**
 * Input that is hostile but valid, fuzzed (fast-check): SQL, Lua and unicode ids (up to
 * 100 astral characters), unknown products and orders, a page past the end, more than the
 * stock. These answer 200, 404 or 409 with a JSON body that leaks no internals, pollute
 * no prototype, and leave MySQL and the stock cache as they were.
 */
import fc, { type Arbitrary } from "fast-check";
import { describe, expect, it } from "vitest";
import { AUTH_OK } from "./support/fuzz-headers";
import { expectNoPollution, type Headers, LEAK, parseBody, send } from "./support/fuzz-requests";
import { P1, P2, P3, RUNS, SEED, setUpFuzzSystem, STOCK, unchanged } from "./support/fuzz-system";
import { enc, hostileValidId, json, text } from "./support/fuzz-values";

setUpFuzzSystem();

describe("fuzz: invalid input gets a 4xx naming the problem, quickly, and changes nothing", () => {
  it("hostile but valid input (SQL, Lua, unicode ids; unknown products; too many): 200/404/409, nothing stored", async () => {
    type Hostile = {
      label: string;
      method: string;
      path: string;
      headers: Headers;
      body?: string;
      check: (status: number, body: Record<string, unknown>) => void;
    };
    const ok = (extra: (body: Record<string, unknown>) => void) => (status: number, body: Record<string, unknown>) => {
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: "Success", error: "" });
      extra(body);
    };
    const failed = (expected: number, message: RegExp) => (status: number, body: Record<string, unknown>) => {
      expect(status).toBe(expected);
      expect(body.status).toBe("Failed");
      expect(String(body.error)).toMatch(message);
    };
    const unicodeId = fc.oneof(
      hostileValidId,
      text.filter((s) => s.trim() === s && s.length > 0 && s.length <= 100 && !/\p{Cc}|\p{Cs}/u.test(s)),
    );
    // Up to 100 characters of up to 4 UTF-8 bytes: as many as varchar(100) holds.
    const astralId = fc
      .array(fc.constantFrom("😀", "𝕏", "👍🏽", "ﷺ", "e\u0301", "a"), { minLength: 1, maxLength: 50 })
      .map((parts) => [...parts.join("")].slice(0, 100).join(""))
      .filter((s) => !/\p{Cs}/u.test(s));
    const requests: Arbitrary<Hostile> = fc.oneof(
      astralId.map((id) => ({
        label: "cart of a clientID of up to 100 astral characters",
        method: "GET",
        path: `/cart/${enc(id)}`,
        headers: {},
        check: ok((b) => expect(b).toMatchObject({ clientID: id, items: [], totalCents: 0 })),
      })),
      hostileValidId.map((id) => ({
        label: "cart of a hostile clientID",
        method: "GET",
        path: `/cart/${enc(id)}`,
        headers: {},
        check: ok((b) => expect(b).toMatchObject({ clientID: id, items: [], totalCents: 0 })),
      })),
      hostileValidId.map((id) => ({
        label: "orders of a hostile clientID",
        method: "GET",
        path: `/clients/${enc(id)}/orders`,
        headers: {},
        check: ok((b) => expect(b).toMatchObject({ clientID: id, orders: [] })),
      })),
      hostileValidId.map((id) => ({
        label: "a hostile productID",
        method: "GET",
        path: `/products/${enc(id)}`,
        headers: {},
        check: failed(404, /unknown product/),
      })),
      fc.uuid({ version: 4 }).map((id) => ({
        label: "an unknown order",
        method: "GET",
        path: `/orders/${id}`,
        headers: {},
        check: failed(404, /unknown order/),
      })),
      fc.nat().map((tail) => ({
        label: "a page past the end",
        method: "GET",
        // A cursor after every id the catalog can hold (U+10FFFF sorts last in utf8mb4_bin).
        path: `/products?limit=500&cursor=${Buffer.from(JSON.stringify({ l: "products", k: [`\u{10FFFF}${tail}`] })).toString("base64url")}`,
        headers: {},
        check: ok((b) => expect(b).toEqual({ status: "Success", error: "", products: [], limit: 500 })),
      })),
      fc.tuple(unicodeId, unicodeId, fc.integer({ min: 1, max: 1_000_000 })).map(([clientID, productID, quantity]) => ({
        label: "add an unknown product",
        method: "POST",
        path: "/addToCart",
        headers: { "content-type": "application/json" },
        body: json({ clientID, productID: `~${productID}`, quantity }),
        check: failed(404, /unknown product/),
      })),
      fc
        .tuple(unicodeId, fc.constantFrom(P1, P2, P3), fc.integer({ min: STOCK + 1, max: 1_000_000 }))
        .map(([clientID, productID, quantity]) => ({
          label: "add more than the stock",
          method: "POST",
          path: "/addToCart",
          headers: { "content-type": "application/json" },
          body: json({ clientID, productID, quantity }),
          check: failed(409, /stock/),
        })),
      hostileValidId.map((id) => ({
        label: "restock an unknown product",
        method: "POST",
        path: `/admin/products/${enc(id)}/restock`,
        headers: { "content-type": "application/json", ...AUTH_OK },
        body: '{"add":1}',
        check: failed(404, /unknown product/),
      })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(requests, async (r) => {
          const where = `[${r.label}] ${r.method} ${r.path.slice(0, 160)} ${String(r.body ?? "").slice(0, 160)}`;
          const res = await send(r);
          expect(res.status, `${where}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
          const body = parseBody(res, where);
          expect(res.text, `${where}: leaks internals`).not.toMatch(LEAK);
          r.check(res.status, body);
          expectNoPollution(where);
        }),
        { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: true },
      ),
    );
  });
});
