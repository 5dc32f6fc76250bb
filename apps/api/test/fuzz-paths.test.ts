/**
 * Fuzzed paths and queries (fast-check): ids in GET /cart/:clientID,
 * /clients/:clientID/orders and /products/:productID that are not ids, order ids that are
 * not UUIDs, a limit or cursor of GET /products out of range, percent-encoding that does
 * not decode, and unknown paths and methods (the admin's and Bull Board's too). Each must
 * get a 4xx naming the problem, quickly, and change nothing (see support/fuzz-system.ts).
 */
import fc, { type Arbitrary } from "fast-check";
import { describe, it } from "vitest";
import { ADD_TO_CART } from "./support/fuzz-routes";
import { AUTH_OK, UNAUTHORIZED } from "./support/fuzz-headers";
import { garbageSegment, invalidIdSegment, junkQuery } from "./support/fuzz-paths";
import { check, type FuzzRequest } from "./support/fuzz-requests";
import { BUYER, P1, setUpFuzzSystem } from "./support/fuzz-system";
import { enc, invalidIdText, numberLiteral, text } from "./support/fuzz-values";

setUpFuzzSystem();

describe("fuzz: invalid input gets a 4xx naming the problem, quickly, and changes nothing", () => {
  it("GET /cart/:clientID, /clients/:clientID/orders, /products/:productID: ids that are not ids", async () => {
    const routes = fc.constantFrom(
      { field: "clientID", path: (id: string) => `/cart/${id}` },
      { field: "clientID", path: (id: string) => `/clients/${id}/orders` },
      { field: "productID", path: (id: string) => `/products/${id}` },
    );
    await check(
      routes.chain((route) =>
        fc
          .tuple(fc.oneof({ weight: 4, arbitrary: invalidIdSegment(route.field) }, garbageSegment), junkQuery)
          .map(([v, query]) => ({ ...v, method: "GET", path: `${route.path(v.segment)}${query}`, headers: {} })),
      ),
    );
  });

  it("GET /orders/:orderId: anything that is not a UUID", async () => {
    // What z.uuid() accepts (RFC 9562, nil and max), so that none of these is one.
    const UUID =
      /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/i;
    const notUuid = fc
      .oneof(
        text,
        invalidIdText,
        fc.uuid().map((u) => u.slice(1)),
        fc.uuid().map((u) => `${u}0`),
        fc.uuid().map((u) => u.replace(/-/g, "")),
        fc.uuid().map((u) => `{${u}}`),
        fc.uuid().map((u) => `${u}' OR 1=1 --`),
        fc.uuid().map((u) => `${u.slice(0, 14)}g${u.slice(15)}`),
      )
      .filter((s) => s.length > 0 && !UUID.test(s.trim()));
    const segment = fc.oneof(
      {
        weight: 4,
        arbitrary: notUuid.map((s) => ({ segment: enc(s), label: "not a UUID", status: [400], mentions: [/orderId/] })),
      },
      { weight: 1, arbitrary: garbageSegment },
    );
    await check(
      fc.tuple(segment, junkQuery).map(([v, query]) => ({
        ...v,
        method: "GET",
        path: `/orders/${v.segment}${query}`,
        headers: {},
      })),
    );
  });

  it("GET /products: a limit out of range and a cursor this listing did not give out", async () => {
    const number = (text: string) => Number(text);
    const validLimit = (s: string) => Number.isSafeInteger(number(s)) && number(s) >= 1 && number(s) <= 500;
    // No made-up text is a cursor: a real one is base64url JSON naming the listing and a key.
    const validCursor = () => false;
    const candidates = fc.oneof(
      fc.constantFrom("", "0", "-1", "501", "1.5", "abc", "1e999", "NaN", "Infinity", "-Infinity", "1e20", "10abc"),
      fc.constantFrom("١٠", "0x", "1_0", "' OR 1=1 --", "1;DROP TABLE product_details", "*", "{}", "[]", "%ZZ"),
      text,
      numberLiteral,
    );
    type Param = { raw: string; wrong: boolean; present: boolean };
    const param = (valid: (s: string) => boolean): Arbitrary<Param> =>
      fc.oneof(
        fc.constant<Param>({ raw: "", wrong: false, present: false }),
        fc.integer({ min: 1, max: 5 }).map((n) => ({ raw: String(n), wrong: !valid(String(n)), present: true })),
        candidates.filter((s) => !valid(s)).map((s) => ({ raw: s === "%ZZ" ? s : enc(s), wrong: true, present: true })),
        fc.tuple(fc.nat(10), fc.nat(10)).map(([a, b]) => ({ raw: `${a}&__REPEAT__=${b}`, wrong: true, present: true })),
      );
    await check(
      fc
        .tuple(param(validLimit), param(validCursor), fc.boolean())
        .filter(([limit, cursor]) => limit.wrong || cursor.wrong)
        .map(([limit, cursor, cursorFirst]) => {
          const parts: string[] = [];
          if (limit.present) parts.push(`limit=${limit.raw.replace("__REPEAT__", "limit")}`);
          if (cursor.present) parts.push(`cursor=${cursor.raw.replace("__REPEAT__", "cursor")}`);
          if (cursorFirst) parts.reverse();
          const wrong = [...(limit.wrong ? ["limit"] : []), ...(cursor.wrong ? ["cursor"] : [])];
          return {
            label: `query ${wrong.join(",")}`,
            method: "GET",
            path: `/products?${parts.join("&")}`,
            headers: {},
            status: [400],
            mentions: wrong.map((f) => new RegExp(`\\b${f}\\b`)),
            present: wrong,
          };
        }),
    );
  });

  it("unknown paths and methods", async () => {
    const KNOWN = [
      "",
      "addtocart",
      "checkoutcart",
      "cart",
      "products",
      "orders",
      "clients",
      "admin",
      "healthz",
      "readyz",
      "metrics",
      "openapi.json",
      "documentation",
    ];
    const segment = fc.oneof(
      text.map(enc),
      fc.constantFrom("..", ".", "%2e%2e", "%2E%2E%2F", "..%2F..%2Fetc%2Fpasswd", "%00", "%ZZ", "%E0%A4%A", "~"),
    );
    const firstSegment = segment.filter((s) => {
      let decoded = s;
      try {
        decoded = decodeURIComponent(s);
      } catch {
        // stays raw
      }
      return !KNOWN.includes(s.toLowerCase()) && !KNOWN.includes(decoded.toLowerCase());
    });
    const unknownPath = fc
      .tuple(
        firstSegment,
        fc.array(segment, { maxLength: 4 }),
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
      )
      .map(([first, rest, method]): FuzzRequest => ({
        label: "unknown path",
        method,
        path: `/${[first, ...rest].join("/")}`,
        headers: {},
        status: [404],
        mentions: [/no route/],
      }));
    // Known paths with a method they do not have (HEAD is answered as GET by Express).
    const ROUTES: Array<[string, readonly string[]]> = [
      ["/addToCart", ["POST"]],
      ["/checkOutCart", ["POST"]],
      ["/products", ["GET"]],
      [`/products/${P1}`, ["GET"]],
      [`/cart/${BUYER}`, ["GET", "DELETE"]],
      [`/cart/${BUYER}/items/${P1}`, ["PUT", "DELETE"]],
      [`/clients/${BUYER}/orders`, ["GET"]],
      ["/orders/00000000-0000-4000-8000-000000000000", ["GET"]],
      ["/healthz", ["GET"]],
      ["/readyz", ["GET"]],
      ["/metrics", ["GET"]],
      ["/openapi.json", ["GET"]],
      ["/cart", []],
      ["/clients", []],
      ["/orders", []],
      [`/cart/${BUYER}/extra`, []],
      ["/cart/../admin/reconcile", []],
      ["/products/../../etc/passwd", []],
      ["//addToCart", []],
      ["/addToCart/", ["POST"]],
    ];
    const wrongMethod = fc
      .tuple(
        fc.constantFrom(...ROUTES),
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
        fc.boolean(),
      )
      .filter(([[, allowed], method]) => !allowed.includes(method))
      .map(([[path], method, withBody]): FuzzRequest => ({
        label: "wrong method",
        method,
        path,
        headers: withBody ? { "content-type": "application/json" } : {},
        ...(withBody ? { body: ADD_TO_CART.validBody } : {}),
        status: [404],
        mentions: [/no route/],
      }));
    const adminWrongMethod = fc
      .tuple(
        fc.constantFrom(
          ["GET", "/admin/products"],
          ["GET", "/admin/reconcile"],
          ["PUT", "/admin/reconcile"],
          ["DELETE", `/admin/products/${P1}`],
          ["GET", `/admin/products/${P1}/restock`],
          ["GET", "/admin/jobs/cart/retry-failed"],
          ["POST", "/admin/holds"],
          ["POST", "/admin/flushes"],
          ["PATCH", "/admin"],
          ["GET", "/admin/"],
          ["POST", "/admin/../addToCart"],
        ),
        fc.boolean(),
      )
      .map(([[method, path], authorized]): FuzzRequest => ({
        label: "admin: wrong method",
        method: method as string,
        path: path as string,
        headers: authorized ? { ...AUTH_OK } : {},
        ...(authorized ? { status: [404], mentions: [/no route/] } : UNAUTHORIZED),
      }));
    const board = fc
      .tuple(fc.array(segment, { maxLength: 3 }), fc.constantFrom("GET", "POST", "PUT", "DELETE"), fc.boolean())
      .map(([rest, method, bearer]): FuzzRequest => ({
        label: "Bull Board without credentials",
        method,
        path: `/admin/queues/${rest.join("/")}`,
        headers: bearer ? { ...AUTH_OK } : {},
        status: [401],
        mentions: [/credentials/],
      }));
    await check(
      fc.oneof({ weight: 3, arbitrary: unknownPath }, { weight: 3, arbitrary: wrongMethod }, adminWrongMethod, board),
    );
  });
});
