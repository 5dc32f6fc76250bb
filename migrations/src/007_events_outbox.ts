import type { Knex } from "knex";

const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

/**
 * The outbox and the webhooks it feeds. Every state change writes its event row in the
 * transaction that makes the change (`seq` orders the events of one order the way their
 * transactions committed: each took the order's row lock); the relay moves rows whose
 * `relayed_at` is unset into the `events` queue. Endpoints keep their secret (a delivery
 * signs with it, so it cannot be hashed); deliveries and their attempts are what
 * `GET /admin/webhooks/:id/deliveries` shows. The inventory queue's prune deletes what is
 * older than EVENTS_RETENTION_MS and ended (the created_at keys).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE events (
      seq        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      event_id   CHAR(36)     NOT NULL,
      type       VARCHAR(40)  NOT NULL,
      order_id   CHAR(36)     NULL,
      product_id VARCHAR(100) COLLATE utf8mb4_bin NULL,
      payload    TEXT         NOT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      relayed_at TIMESTAMP(3) NULL DEFAULT NULL,
      PRIMARY KEY (seq),
      UNIQUE KEY events_event_id (event_id),
      KEY events_unrelayed (relayed_at, seq),
      KEY events_order (order_id, seq),
      KEY events_created (created_at)
    ) ${TABLE_OPTIONS}`);

  await knex.raw(`
    CREATE TABLE webhook_endpoints (
      endpoint_id CHAR(36)      NOT NULL,
      url         VARCHAR(2000) NOT NULL,
      event_types VARCHAR(1000) NOT NULL,
      secret      VARCHAR(200)  COLLATE utf8mb4_bin NOT NULL,
      created_at  TIMESTAMP(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      deleted_at  TIMESTAMP(3)  NULL DEFAULT NULL,
      PRIMARY KEY (endpoint_id),
      KEY webhook_endpoints_live (deleted_at, created_at)
    ) ${TABLE_OPTIONS}`);

  await knex.raw(`
    CREATE TABLE webhook_deliveries (
      delivery_id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      endpoint_id      CHAR(36)     NOT NULL,
      event_id         CHAR(36)     NOT NULL,
      event_seq        BIGINT UNSIGNED NOT NULL,
      order_id         CHAR(36)     NULL,
      status           ENUM('pending','delivered','failed','cancelled') NOT NULL DEFAULT 'pending',
      attempts         INT UNSIGNED NOT NULL DEFAULT 0,
      last_status_code SMALLINT     NULL,
      last_error       VARCHAR(500) NULL,
      waiting_for      CHAR(36)     NULL,
      next_attempt_at  TIMESTAMP(3) NULL DEFAULT NULL,
      delivered_at     TIMESTAMP(3) NULL DEFAULT NULL,
      created_at       TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at       TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (delivery_id),
      UNIQUE KEY webhook_deliveries_event (endpoint_id, event_id),
      KEY webhook_deliveries_order (endpoint_id, order_id, event_seq),
      KEY webhook_deliveries_by_event (event_id),
      KEY webhook_deliveries_created (created_at),
      CONSTRAINT webhook_deliveries_endpoint_fk FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (endpoint_id)
    ) ${TABLE_OPTIONS}`);

  await knex.raw(`
    CREATE TABLE webhook_attempts (
      delivery_id  BIGINT UNSIGNED NOT NULL,
      attempt      INT UNSIGNED NOT NULL,
      status_code  SMALLINT     NULL,
      error        VARCHAR(500) NULL,
      duration_ms  INT UNSIGNED NOT NULL,
      attempted_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (delivery_id, attempt),
      CONSTRAINT webhook_attempts_delivery_fk FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (delivery_id)
    ) ${TABLE_OPTIONS}`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["webhook_attempts", "webhook_deliveries", "webhook_endpoints", "events"]) {
    await knex.schema.dropTableIfExists(table);
  }
}
