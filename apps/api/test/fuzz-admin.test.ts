/**
 * The admin routes, fuzzed (fast-check): POST /admin/products and its restock with a bad
 * token, content type or fields, and retry-failed, reconcile and the admin reads with a
 * bad token, an unknown queue or a bad Idempotency-Key. Without the token a request stops
 * at the door (401); with it, each must get a 4xx naming the problem, quickly, and change
 * nothing (see support/fuzz-system.ts).
 */
import fc, { type Arbitrary } from "fast-check";
import { describe, it } from "vitest";
import { extraEntries, fieldBodies, jsonHeaders, shapeBodies, sized, wrongContentTypes } from "./support/fuzz-bodies";
import type { BodyVerdict } from "./support/fuzz-bodies";
import { type RouteSpec, UPSERT } from "./support/fuzz-routes";
import { AUTH_OK, badAuth, badIdempotencyKey, UNAUTHORIZED } from "./support/fuzz-headers";
import { garbageSegment, invalidIdSegment } from "./support/fuzz-paths";
import { check, type FuzzRequest, type Headers } from "./support/fuzz-requests";
import { P1, P2, setUpFuzzSystem } from "./support/fuzz-system";
import { enc, intIn, invalidNumber, object, text } from "./support/fuzz-values";

setUpFuzzSystem();

describe("fuzz: invalid input gets a 4xx naming the problem, quickly, and changes nothing", () => {
  it("POST /admin/products and /admin/products/:productID/restock: auth, content type, fields", async () => {
    // Exactly one of add and set, each in range, is valid: every mode here breaks that.
    const RESTOCK_MODES = {
      neither: { mentions: [/\badd\b/, /\bset\b/], present: [] },
      "both valid": { mentions: [/\badd\b/, /\bset\b/], present: [] },
      "add wrong": { mentions: [/\badd\b/], present: ["add"] },
      "set wrong": { mentions: [/\bset\b/], present: ["set"] },
      "both wrong": { mentions: [/\badd\b/, /\bset\b/], present: ["add", "set"] },
    } as const;
    const restockBody: Arbitrary<BodyVerdict> = fc
      .tuple(
        fc.constantFrom(...(Object.keys(RESTOCK_MODES) as Array<keyof typeof RESTOCK_MODES>)),
        invalidNumber(intIn(1, 1_000_000_000)),
        invalidNumber(intIn(0, 1_000_000_000)),
        extraEntries(["add", "set"]),
        jsonHeaders,
      )
      .map(([mode, badAdd, badSet, extras, headers]) => {
        const entries: Array<[string, string]> = [...extras];
        if (mode === "both valid") entries.push(["add", "1"], ["set", "1"]);
        if (mode === "add wrong" || mode === "both wrong") entries.push(["add", badAdd]);
        if (mode === "set wrong" || mode === "both wrong") entries.push(["set", badSet]);
        return sized({
          label: `restock ${mode}`,
          headers,
          body: object(entries),
          status: [400],
          ...RESTOCK_MODES[mode],
        });
      });
    const RESTOCK: RouteSpec = {
      requiredMentions: [/\badd\b/],
      fields: [],
      validBody: '{"add":1}',
    };

    type Part = BodyVerdict & { path: string };
    const upsert: Arbitrary<Part> = fc
      .oneof(
        { weight: 5, arbitrary: fieldBodies(UPSERT) },
        { weight: 2, arbitrary: shapeBodies(UPSERT) },
        { weight: 2, arbitrary: wrongContentTypes(UPSERT) },
      )
      .map((v) => ({ ...v, path: "/admin/products" }));
    // A known or unknown (valid) product with a wrong body, or an invalid product id with a valid body.
    const restock: Arbitrary<Part> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            fc.constantFrom(P1, P2, "fz-unknown"),
            fc.oneof({ weight: 4, arbitrary: restockBody }, shapeBodies(RESTOCK), wrongContentTypes(RESTOCK)),
          )
          .map(([id, v]) => ({ ...v, path: `/admin/products/${id}/restock` })),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.oneof({ weight: 3, arbitrary: invalidIdSegment("productID") }, garbageSegment), jsonHeaders)
          .map(([v, headers]) => ({
            ...v,
            headers,
            body: RESTOCK.validBody,
            path: `/admin/products/${v.segment}/restock`,
          })),
      },
    );
    const badKey: Arbitrary<Part> = fc
      .tuple(
        badIdempotencyKey,
        fc.constantFrom(
          { path: "/admin/products", body: UPSERT.validBody },
          { path: `/admin/products/${P1}/restock`, body: '{"add":5}' },
          { path: `/admin/products/${P2}/restock`, body: '{"set":0}' },
        ),
      )
      .map(([key, target]) => ({
        label: "bad Idempotency-Key",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: target.body,
        path: target.path,
        status: [400],
        mentions: [/Idempotency-Key/],
      }));
    const authorized = fc.oneof({ weight: 3, arbitrary: upsert }, { weight: 3, arbitrary: restock }, badKey);
    await check(
      fc
        .tuple(authorized, fc.oneof({ weight: 4, arbitrary: fc.constant<Headers | null>(null) }, badAuth))
        .map(([v, auth]): FuzzRequest => {
          const request = { ...v, method: "POST", headers: { ...v.headers, ...(auth ?? AUTH_OK) } };
          // Without the token the request stops at the door (unless the parser refused the body first).
          const parserRefused = v.status.includes(413);
          return auth === null || parserRefused
            ? request
            : { ...request, label: `${v.label}, bad auth`, ...UNAUTHORIZED };
        }),
    );
  });

  it("POST /admin/jobs/:queue/retry-failed, /admin/reconcile and the admin reads: auth, queue names, Idempotency-Key", async () => {
    const QUEUES = ["cart", "checkout", "inventory", "events", "webhooks"];
    const unknownQueue = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .oneof(
            text,
            fc.constantFrom(
              "CART",
              "Cart",
              "cart ",
              " cart",
              "cart%00",
              "__proto__",
              "constructor",
              "toString",
              "..",
              ".",
            ),
          )
          .filter((q) => q.length > 0 && !QUEUES.includes(q))
          .map((q) => ({
            segment: q === "cart%00" ? q : enc(q),
            label: "unknown queue",
            status: [404],
            mentions: [/queue/],
          })),
      },
      { weight: 1, arbitrary: garbageSegment },
    );
    const retryUnknown = unknownQueue.map((v): FuzzRequest => ({
      ...v,
      method: "POST",
      path: `/admin/jobs/${v.segment}/retry-failed`,
      headers: { ...AUTH_OK },
    }));
    const badKey = fc
      .tuple(
        badIdempotencyKey,
        fc.constantFrom("/admin/reconcile", ...QUEUES.map((q) => `/admin/jobs/${q}/retry-failed`)),
      )
      .map(([key, path]): FuzzRequest => ({
        label: "bad Idempotency-Key",
        method: "POST",
        path,
        headers: { ...AUTH_OK, "idempotency-key": key },
        status: [400],
        mentions: [/Idempotency-Key/],
      }));
    const noToken = fc
      .tuple(
        badAuth,
        fc.constantFrom(
          ["POST", "/admin/reconcile"],
          ["POST", "/admin/jobs/cart/retry-failed"],
          ["POST", "/admin/jobs/checkout/retry-failed"],
          ["GET", "/admin/holds"],
          ["GET", "/admin/flushes"],
          ["POST", "/admin/products"],
          ["DELETE", "/admin/products/fz-p1"],
          ["GET", "/admin/anything/at/all"],
        ),
      )
      .map(([headers, [method, path]]): FuzzRequest => ({
        label: "bad auth",
        method: method as string,
        path: path as string,
        headers,
        ...UNAUTHORIZED,
      }));
    await check(fc.oneof(retryUnknown, badKey, noToken));
  });
});
