import type { Knex } from "knex";

/**
 * GET /admin/orders pages newest first by (created_at, order_id), filtered by state or
 * not at all. Without these, a page read (and sorted) every matching row to return the
 * newest hundred. InnoDB appends the primary key (order_id) to each secondary index, so
 * the keyset's tie-breaker comes with the index and the ORDER BY needs no sort. A
 * client's orders already have orders_client_created; products page by primary key.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    "ALTER TABLE orders ADD KEY orders_created (created_at), ADD KEY orders_state_created (state, created_at)",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE orders DROP KEY orders_created, DROP KEY orders_state_created");
}
