import type { Knex } from "knex";

const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

/**
 * The order's life after checkout: cancel, refund, fulfil, ship.
 *
 * The new states are appended to the ENUM, so existing rows keep their stored values and
 * the change is a metadata-only ALTER (no copy of the orders table). `refunds` records
 * each refund with the order's state change, in one transaction, before the payment
 * provider is asked: status `pending` until the provider confirmed it, so a crash in
 * between leaves a row the sweep finishes (never a lost or a second refund).
 * `refund_items` are the units each refund returned to stock (conservation counts them).
 * `provider_refunds` is the payment simulator's own ledger, one row per idempotency key
 * (= refund id), as `payments` is for charges: tests prove from it that nothing was
 * refunded twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE orders
      MODIFY state ENUM('pending','completed','failed','cancelled','partially_refunded','refunded','fulfilled','shipped')
        NOT NULL DEFAULT 'pending',
      ADD COLUMN refunded_cents BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER total_cents,
      ADD COLUMN tracking_ref VARCHAR(100) NULL AFTER payment_ref,
      ADD COLUMN cancelled_at TIMESTAMP(3) NULL,
      ADD COLUMN fulfilled_at TIMESTAMP(3) NULL,
      ADD COLUMN shipped_at   TIMESTAMP(3) NULL`);

  await knex.raw(`
    CREATE TABLE refunds (
      refund_id     CHAR(36)     NOT NULL,
      order_id      CHAR(36)     NOT NULL,
      kind          ENUM('cancel','refund') NOT NULL,
      amount_cents  BIGINT UNSIGNED NOT NULL,
      status        ENUM('pending','succeeded') NOT NULL DEFAULT 'pending',
      provider_ref  VARCHAR(100) NULL,
      attempts      INT UNSIGNED NOT NULL DEFAULT 0,
      last_error    VARCHAR(500) NULL,
      created_at    TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at    TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      refunded_at   TIMESTAMP(3) NULL,
      PRIMARY KEY (refund_id),
      KEY refunds_order (order_id),
      KEY refunds_status_updated (status, updated_at),
      CONSTRAINT refunds_order_fk FOREIGN KEY (order_id) REFERENCES orders (order_id)
    ) ${TABLE_OPTIONS}`);

  await knex.raw(`
    CREATE TABLE refund_items (
      refund_id    CHAR(36)     NOT NULL,
      order_id     CHAR(36)     NOT NULL,
      product_id   VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      quantity     INT UNSIGNED NOT NULL,
      amount_cents BIGINT UNSIGNED NOT NULL,
      PRIMARY KEY (refund_id, product_id),
      KEY refund_items_order_product (order_id, product_id),
      KEY refund_items_product (product_id),
      CONSTRAINT refund_items_refund_fk FOREIGN KEY (refund_id) REFERENCES refunds (refund_id),
      CONSTRAINT refund_items_quantity_positive CHECK (quantity > 0)
    ) ${TABLE_OPTIONS}`);

  await knex.raw(`
    CREATE TABLE provider_refunds (
      idempotency_key VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      charge_key      VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      amount_cents    BIGINT UNSIGNED NOT NULL,
      provider_ref    VARCHAR(100) NOT NULL,
      created_at      TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (idempotency_key),
      KEY provider_refunds_charge (charge_key)
    ) ${TABLE_OPTIONS}`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["provider_refunds", "refund_items", "refunds"]) await knex.schema.dropTableIfExists(table);
  // Orders that moved past completed cannot be written back into the old ENUM: they fall back to completed.
  await knex.raw(
    "UPDATE orders SET state = 'completed' WHERE state IN ('cancelled','partially_refunded','refunded','fulfilled','shipped')",
  );
  await knex.raw(`
    ALTER TABLE orders
      MODIFY state ENUM('pending','completed','failed') NOT NULL DEFAULT 'pending',
      DROP COLUMN refunded_cents, DROP COLUMN tracking_ref,
      DROP COLUMN cancelled_at, DROP COLUMN fulfilled_at, DROP COLUMN shipped_at`);
}
