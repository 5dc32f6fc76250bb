import type { Knex } from "knex";

const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

/**
 * The original's three tables keep their names and columns, now with keys and
 * constraints; orders, order_items and payments are new. Ids compare byte for byte
 * (utf8mb4_bin): under a case- and accent-insensitive collation "ALICE" would read
 * alice's cart.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE product_details (
      product_id   VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      product_name VARCHAR(255) NOT NULL,
      quantity     INT UNSIGNED NOT NULL DEFAULT 0,
      price_cents  INT UNSIGNED NOT NULL DEFAULT 0,
      created_at   TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at   TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (product_id)
    ) ${TABLE_OPTIONS}`);

  await knex.raw(`
    CREATE TABLE client_cart (
      client_id  VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      product_id VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      quantity   INT UNSIGNED NOT NULL,
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (client_id, product_id),
      KEY client_cart_product (product_id),
      CONSTRAINT client_cart_product_fk FOREIGN KEY (product_id) REFERENCES product_details (product_id),
      CONSTRAINT client_cart_quantity_positive CHECK (quantity > 0)
    ) ${TABLE_OPTIONS}`);

  // Applied add-to-cart jobs, so a re-delivered job does not add twice.
  await knex.raw(`
    CREATE TABLE cart_operations (
      operation_id VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      client_id    VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      created_at   TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (operation_id),
      KEY cart_operations_created (created_at)
    ) ${TABLE_OPTIONS}`);

  await knex.raw(`
    CREATE TABLE orders (
      order_id       CHAR(36)     NOT NULL,
      client_id      VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      state          ENUM('pending','completed','failed') NOT NULL DEFAULT 'pending',
      total_cents    BIGINT UNSIGNED NOT NULL DEFAULT 0,
      payment_ref    VARCHAR(100) NULL,
      failure_code   VARCHAR(40)  NULL,
      failure_reason VARCHAR(500) NULL,
      created_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      completed_at   TIMESTAMP(3) NULL,
      PRIMARY KEY (order_id),
      KEY orders_client_created (client_id, created_at),
      KEY orders_state_updated (state, updated_at)
    ) ${TABLE_OPTIONS}`);

  await knex.raw(`
    CREATE TABLE order_items (
      order_id         CHAR(36)     NOT NULL,
      product_id       VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      quantity         INT UNSIGNED NOT NULL,
      unit_price_cents INT UNSIGNED NOT NULL,
      PRIMARY KEY (order_id, product_id),
      KEY order_items_product (product_id),
      CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (order_id),
      CONSTRAINT order_items_product_fk FOREIGN KEY (product_id) REFERENCES product_details (product_id),
      CONSTRAINT order_items_quantity_positive CHECK (quantity > 0)
    ) ${TABLE_OPTIONS}`);

  // Pending stock decrements of committed orders, applied to product_details by the flush.
  await knex.raw(`
    CREATE TABLE reserve_purchase (
      reserve_id VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      product_id VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      quantity   INT UNSIGNED NOT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (reserve_id, product_id),
      KEY reserve_purchase_product (product_id),
      CONSTRAINT reserve_purchase_product_fk FOREIGN KEY (product_id) REFERENCES product_details (product_id),
      CONSTRAINT reserve_purchase_quantity_positive CHECK (quantity > 0)
    ) ${TABLE_OPTIONS}`);

  // One row per idempotency key (= order id): a key is charged at most once.
  await knex.raw(`
    CREATE TABLE payments (
      idempotency_key VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
      order_id        CHAR(36)     NOT NULL,
      amount_cents    BIGINT UNSIGNED NOT NULL,
      status          ENUM('failed','declined','succeeded','refunded') NOT NULL,
      provider_ref    VARCHAR(100) NULL,
      attempts        INT UNSIGNED NOT NULL DEFAULT 0,
      decline_reason  VARCHAR(200) NULL,
      created_at      TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at      TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (idempotency_key),
      KEY payments_order (order_id)
    ) ${TABLE_OPTIONS}`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    "payments",
    "reserve_purchase",
    "order_items",
    "orders",
    "cart_operations",
    "client_cart",
    "product_details",
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
