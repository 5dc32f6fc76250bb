/**
 * Who may use the admin API and the cart routes: the admin API takes only Bearer
 * ADMIN_TOKEN (401 otherwise) and does not exist (404) when no admin token is configured;
 * with JWT_SECRET set, a client's JWT is tied to the clientID it acts on.
 */
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { postJson } from "../../../test/support/system";
import { ADMIN, ADMIN_ROUTES, basic, bearer, call, uid } from "./support/operator-calls";
import { cartQuantity, product } from "./support/operator-state";
import { ADMIN_TOKEN, api, disabled, env, JWT_SECRET, jwtApi, setUpOperatorSystem } from "./support/operator-system";

setUpOperatorSystem();
// ---------------------------------------------------------------- admin API authentication

describe("admin API authentication", () => {
  it("refuses every admin route without a token, with a wrong token, and with Basic instead of Bearer (401)", async () => {
    const wrongs: Array<Record<string, string>> = [
      {},
      bearer("wrong-token-wrong-token"),
      bearer(`${ADMIN_TOKEN}x`),
      { authorization: ADMIN_TOKEN },
      basic("admin", ADMIN_TOKEN),
    ];
    for (const route of ADMIN_ROUTES) {
      for (const headers of wrongs) {
        const res = await call(api.url, route.method, route.path, { headers, body: route.body });
        expect(res.status, `${route.method} ${route.path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
        expect(res.body.status).toBe("Failed");
      }
    }
    // Nothing was written by the refused calls.
    expect(await env.db("product_details").where({ product_id: "p-x" }).first()).toBeUndefined();
  });

  it("accepts the admin token on the read routes", async () => {
    const holds = await call(api.url, "GET", "/admin/holds", { headers: ADMIN });
    expect(holds.status).toBe(200);
    expect(holds.body).toMatchObject({ status: "Success", count: expect.any(Number), holds: expect.any(Array) });
    const flushes = await call(api.url, "GET", "/admin/flushes", { headers: ADMIN });
    expect(flushes.status).toBe(200);
    expect(flushes.body.products).toEqual(expect.any(Array));
  });

  it("answers 404 on every admin route and on Bull Board when ADMIN_TOKEN is unset, whatever the credentials", async () => {
    const attempts: Array<Record<string, string>> = [{}, ADMIN, basic("admin", ADMIN_TOKEN)];
    const routes = [
      ...ADMIN_ROUTES,
      { method: "GET", path: "/admin/queues" },
      { method: "GET", path: "/admin/queues/api/queues" },
      { method: "PUT", path: "/admin/queues/api/queues/cart/retry/failed" },
      { method: "GET", path: "/admin/anything" },
    ];
    for (const route of routes) {
      for (const headers of attempts) {
        const res = await call(disabled.url, route.method, route.path, { headers, body: route.body });
        expect(res.status, `${route.method} ${route.path} with ${JSON.stringify(headers)}`).toBe(404);
        expect(res.body.error).toMatch(/admin surface is disabled/);
      }
    }
    // The disabled API does not document the admin routes either.
    const spec = (await (await fetch(`${disabled.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths).filter((p) => p.startsWith("/admin"))).toEqual([]);
    expect(Object.keys(spec.paths)).toContain("/addToCart");
  });
});

// ---------------------------------------------------------------- client JWTs

describe("client JWTs (JWT_SECRET set)", () => {
  const sign = (sub: string, secret = JWT_SECRET, expiresIn = "5m") =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(new TextEncoder().encode(secret));

  it("lets client A act on A's cart and refuses B's cart (403)", async () => {
    const a = uid("A");
    const b = uid("B");
    const productID = await product(10);
    const tokenA = bearer(await sign(a));

    const added = await postJson(`${jwtApi.url}/addToCart`, { clientID: a, productID, quantity: 2 }, tokenA);
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ status: "Success", quantityInCart: 2 });
    const cartA = await call(jwtApi.url, "GET", `/cart/${a}`, { headers: tokenA });
    expect(cartA.status).toBe(200);
    expect(cartA.body.items).toEqual([expect.objectContaining({ productID, quantity: 2 })]);

    const intoB = await postJson(`${jwtApi.url}/addToCart`, { clientID: b, productID, quantity: 1 }, tokenA);
    expect(intoB.status).toBe(403);
    expect(intoB.body.status).toBe("Failed");
    expect((await call(jwtApi.url, "GET", `/cart/${b}`, { headers: tokenA })).status).toBe(403);
    expect((await call(jwtApi.url, "GET", `/clients/${b}/orders`, { headers: tokenA })).status).toBe(403);
    expect((await postJson(`${jwtApi.url}/checkOutCart`, { clientID: b }, tokenA)).status).toBe(403);
    expect(await cartQuantity(b, productID)).toBeUndefined();
  });

  it("answers 401 without a token, with a wrong signature, an expired token or another algorithm", async () => {
    const a = uid("A");
    const productID = await product(10);
    const forged = await sign(a, "another-secret-of-at-least-32-characters");
    const expired = await sign(a, JWT_SECRET, "-1m");
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(
      JSON.stringify({ sub: a }),
    ).toString("base64url")}.`;
    for (const headers of [{}, bearer(forged), bearer(expired), bearer(unsigned), bearer("not-a-jwt")]) {
      const add = await postJson(`${jwtApi.url}/addToCart`, { clientID: a, productID, quantity: 1 }, headers);
      expect(add.status, JSON.stringify(headers)).toBe(401);
      expect(add.headers.get("www-authenticate")).toMatch(/^Bearer /);
      const cart = await call(jwtApi.url, "GET", `/cart/${a}`, { headers });
      expect(cart.status, JSON.stringify(headers)).toBe(401);
    }
    expect(await cartQuantity(a, productID)).toBeUndefined();
  });

  it("needs no token when JWT_SECRET is unset", async () => {
    const productID = await product(5);
    const res = await postJson(`${api.url}/addToCart`, { clientID: uid("anon"), productID, quantity: 1 });
    expect(res.status).toBe(200);
  });
});
