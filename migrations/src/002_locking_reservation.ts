import type { Knex } from "knex";

/**
 * The classic (row-lock) inventory mode, used as the benchmark's baseline, records in
 * the order itself that it took the stock, in the same transaction as the decrement.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE orders ADD COLUMN stock_locked TINYINT(1) NOT NULL DEFAULT 0 AFTER state");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE orders DROP COLUMN stock_locked");
}
