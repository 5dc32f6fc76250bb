import type { Knex } from "knex";

/**
 * A failed order keeps what made it fail as fields, not only as a sentence: the product
 * that ran short and how many were left. A replay answers from them (409 naming the
 * product) instead of reading them back out of the reason's wording.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    "ALTER TABLE orders ADD COLUMN failure_product_id VARCHAR(100) COLLATE utf8mb4_bin NULL AFTER failure_reason, ADD COLUMN failure_available INT NULL AFTER failure_product_id",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE orders DROP COLUMN failure_product_id, DROP COLUMN failure_available");
}
