/**
 * The scripts an operator runs before starting the system: `npm run migrate` creates the
 * database and schema (utf8mb4_unicode_ci throughout) and is a no-op when run again;
 * `npm run seed` inserts the demo catalog once and leaves existing products alone.
 */
import { describe, expect, it } from "vitest";
import { DEMO_CATALOG } from "@oms/migrations";
import { MYSQL_URL } from "../../../test/support/env";
import { env, freshDatabase, products, runScript, setUpStartup } from "./support/startup-processes";

const TABLES = [
  "cart_operations",
  "client_cart",
  "order_items",
  "orders",
  "payments",
  "product_details",
  "reserve_purchase",
];
const ORIGINAL_SEED = DEMO_CATALOG[0]!;

setUpStartup();

async function tablesOf(database: string): Promise<Array<{ name: string; collation: string }>> {
  const rows = (await env
    .db("information_schema.TABLES")
    .where({ TABLE_SCHEMA: database })
    .orderBy("TABLE_NAME")
    .select({ name: "TABLE_NAME", collation: "TABLE_COLLATION" })) as Array<{ name: string; collation: string }>;
  return rows;
}

async function databaseCollation(database: string): Promise<string | undefined> {
  const row = (await env
    .db("information_schema.SCHEMATA")
    .where({ SCHEMA_NAME: database })
    .first({ collation: "DEFAULT_COLLATION_NAME" })) as { collation: string } | undefined;
  return row?.collation;
}

async function expectSchema(database: string): Promise<void> {
  expect(await databaseCollation(database)).toBe("utf8mb4_unicode_ci");
  const tables = await tablesOf(database);
  const names = tables.map((t) => t.name);
  for (const table of TABLES) expect(names, `table ${table}`).toContain(table);
  for (const table of tables.filter((t) => TABLES.includes(t.name))) {
    expect(table.collation, `collation of ${table.name}`).toBe("utf8mb4_unicode_ci");
  }
}

describe("npm run migrate / npm run seed", () => {
  it("migrate creates the database and schema, and a second run says the schema is up to date", async () => {
    const database = await freshDatabase("migrate");
    const settings = { DATABASE_URL: `${MYSQL_URL}/${database}` };

    const first = await runScript("scripts/migrate.ts", settings);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/applied: .*001_initial/);
    await expectSchema(database);
    const migrations = (await env.db(`${database}.knex_migrations`).pluck("name")) as string[];
    expect(migrations).toContain("001_initial");

    const second = await runScript("scripts/migrate.ts", settings);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/schema is up to date/);
    expect(second.stdout).not.toMatch(/applied:/);
    expect((await env.db(`${database}.knex_migrations`).pluck("name")) as string[]).toEqual(migrations);
  }, 120_000);

  it("seed inserts the demo catalog once, leaving existing products as they are", async () => {
    const database = await freshDatabase("seed");
    const settings = { DATABASE_URL: `${MYSQL_URL}/${database}` };

    const first = await runScript("scripts/seed.ts", settings);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`demo catalog: ${DEMO_CATALOG.length} product(s) inserted`);
    await expectSchema(database);
    expect(await products(database)).toEqual(
      DEMO_CATALOG.map((p) => ({ product_id: p.product_id, product_name: p.product_name, quantity: p.quantity })).sort(
        (a, b) => a.product_id.localeCompare(b.product_id),
      ),
    );

    await env.db(`${database}.product_details`).where({ product_id: ORIGINAL_SEED.product_id }).update({ quantity: 2 });

    const second = await runScript("scripts/seed.ts", settings);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("demo catalog: 0 product(s) inserted");
    const rows = await products(database);
    expect(rows).toHaveLength(DEMO_CATALOG.length);
    expect(rows.find((r) => r.product_id === ORIGINAL_SEED.product_id)?.quantity).toBe(2);
  }, 120_000);
});
