import type { Knex } from "knex";
import { affectedRows } from "@oms/shared";

/** The demo catalog; the first product is the original service's seed. */
export const DEMO_CATALOG = [
  { product_id: "dfb1c7c9-f4a5-11ea-be85-0242ac120002", product_name: "item1", quantity: 10, price_cents: 1999 },
  {
    product_id: "3f0c6c1e-5a43-4d7e-9a55-0b7f8c8a1a01",
    product_name: "Espresso beans 1kg",
    quantity: 250,
    price_cents: 2450,
  },
  {
    product_id: "3f0c6c1e-5a43-4d7e-9a55-0b7f8c8a1a02",
    product_name: "Pour-over kettle",
    quantity: 40,
    price_cents: 5900,
  },
  { product_id: "3f0c6c1e-5a43-4d7e-9a55-0b7f8c8a1a03", product_name: "Ceramic mug", quantity: 500, price_cents: 1200 },
  {
    product_id: "3f0c6c1e-5a43-4d7e-9a55-0b7f8c8a1a04",
    product_name: "Limited grinder (flash sale)",
    quantity: 5,
    price_cents: 19900,
  },
];

/**
 * Inserts the demo products that are missing; existing rows (and their stock) are
 * left alone, so seeding twice changes nothing. Returns how many were inserted.
 */
export async function seedDemoCatalog(db: Knex): Promise<number> {
  let inserted = 0;
  for (const product of DEMO_CATALOG) {
    inserted += affectedRows(
      await db.raw(
        "INSERT IGNORE INTO product_details (product_id, product_name, quantity, price_cents) VALUES (?, ?, ?, ?)",
        [product.product_id, product.product_name, product.quantity, product.price_cents],
      ),
    );
  }
  return inserted;
}

/** Seeds only a catalog that has no products at all (used at start-up). */
export async function seedDemoCatalogIfEmpty(db: Knex): Promise<boolean> {
  const row: unknown = await db("product_details").first("product_id");
  if (row) return false;
  return (await seedDemoCatalog(db)) > 0;
}
