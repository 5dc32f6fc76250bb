/**
 * The catalog reads over HTTP against the real Redis and MariaDB: GET /products (paged, in
 * product id order) and GET /products/:productID, each with its live stock: `available`
 * drops while a hold is live and recovers on release, `quantity` stays.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { insertProducts } from "../../../test/support/env";
import { getJson, type ApiBody } from "../../../test/support/system";
import { api, env, expectFailure, setUpReads, uid } from "./support/reads-system";

setUpReads();

interface ProductView {
  productID: string;
  productName: string;
  priceCents: number;
  quantity: number;
  available: number;
}
interface ProductsBody extends ApiBody {
  products: ProductView[];
  limit: number;
  nextCursor?: string;
}
interface ProductBody extends ApiBody {
  product: ProductView;
}

// Catalog products are named so that they sort first and in this order (product_id order).
const catalog = [
  { id: "0000-catalog-a", name: "Alpha", quantity: 10, priceCents: 250 },
  { id: "0000-catalog-b", name: "Bravo", quantity: 3, priceCents: 1_999 },
  { id: "0000-catalog-c", name: "Charlie", quantity: 0, priceCents: 5 },
];
/**
 * A product that sorts after the catalog, so that the catalog's page of three has a next
 * page (when these tests shared a file with the cart tests, which ran first, their
 * products were that next page).
 */
const afterCatalog = { id: "0001-after-catalog", quantity: 1, priceCents: 1 };

beforeAll(async () => {
  await insertProducts(env.db, [...catalog, afterCatalog]);
});

describe("GET /products", () => {
  it("lists the catalog in product id order with quantity and available stock", async () => {
    const res = await getJson<ProductsBody>(`${api.url}/products?limit=3`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "Success",
      error: "",
      limit: 3,
      nextCursor: expect.any(String),
      products: catalog.map((p) => ({
        productID: p.id,
        productName: p.name,
        priceCents: p.priceCents,
        quantity: p.quantity,
        available: p.quantity,
      })),
    });
  });

  it("pages with limit and the previous page's cursor", async () => {
    const first = await getJson<ProductsBody>(`${api.url}/products?limit=1`);
    const res = await getJson<ProductsBody>(`${api.url}/products?limit=1&cursor=${first.body.nextCursor ?? ""}`);
    expect(res.status).toBe(200);
    expect(res.body.products.map((p) => p.productID)).toEqual([catalog[1]?.id]);
    expect(res.body).toMatchObject({ limit: 1 });
  });

  it.each([["limit=0"], ["limit=501"], ["limit=abc"], ["offset=1"], ["limit=1.5"], ["cursor=x"]])(
    "answers 400 for %s, naming the parameter",
    async (query) => {
      const res = await getJson(`${api.url}/products?${query}`);
      expect(res.status).toBe(400);
      expectFailure(res.body, new RegExp(query.split("=")[0] ?? "?"));
    },
  );

  it("shows `available` drop while a hold is live, while `quantity` stays, and recover on release", async () => {
    const productID = uid("0001-held");
    await insertProducts(env.db, [{ id: productID, name: "Held", quantity: 8, priceCents: 300 }]);
    const find = async () => {
      const res = await getJson<ProductsBody>(`${api.url}/products?limit=500`);
      expect(res.status).toBe(200);
      return res.body.products.find((p) => p.productID === productID);
    };
    expect(await find()).toMatchObject({ quantity: 8, available: 8 });

    const orderId = randomUUID();
    expect(await api.deps.engine.reserve(orderId, [{ productId: productID, quantity: 5 }], 60_000)).toEqual({
      ok: true,
      replayed: false,
    });
    expect(await find()).toMatchObject({ quantity: 8, available: 3 });

    // A second hold on the rest empties the available stock, not the warehouse.
    expect((await api.deps.engine.reserve(randomUUID(), [{ productId: productID, quantity: 3 }], 60_000)).ok).toBe(
      true,
    );
    expect(await find()).toMatchObject({ quantity: 8, available: 0 });

    expect(await api.deps.engine.release(orderId)).toEqual({ ok: true, replayed: false });
    expect(await find()).toMatchObject({ quantity: 8, available: 5 });
  });
});

describe("GET /products/:productID", () => {
  it("answers one product with its live stock", async () => {
    const productID = uid("p");
    await insertProducts(env.db, [{ id: productID, name: "Grinder", quantity: 5, priceCents: 19_900 }]);
    await api.deps.engine.reserve(randomUUID(), [{ productId: productID, quantity: 2 }], 60_000);

    const res = await getJson<ProductBody>(`${api.url}/products/${productID}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "Success",
      error: "",
      product: { productID, productName: "Grinder", priceCents: 19_900, quantity: 5, available: 3 },
    });
  });

  it("answers 404 for an unknown product, naming it", async () => {
    const productID = uid("missing");
    const res = await getJson(`${api.url}/products/${productID}`);
    expect(res.status).toBe(404);
    expectFailure(res.body, new RegExp(`unknown product ${productID}`));
  });

  it("answers 400 for a productID longer than 100 characters", async () => {
    const res = await getJson(`${api.url}/products/${"p".repeat(101)}`);
    expect(res.status).toBe(400);
    expectFailure(res.body, /productID/);
  });
});
