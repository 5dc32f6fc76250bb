import type { Knex } from "knex";

/**
 * The flush takes the oldest reserve_purchase rows first. Without an index on
 * created_at, its `ORDER BY created_at LIMIT n FOR UPDATE` read (and locked) every row
 * in the table to sort them, and commits inserting new rows queued behind it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE reserve_purchase ADD KEY reserve_purchase_created (created_at)");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE reserve_purchase DROP KEY reserve_purchase_created");
}
