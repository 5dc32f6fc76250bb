import type { Knex } from "knex";
import { z } from "zod";
import { createDb, isDbUnavailable, ensureDatabase, parseDatabaseUrl } from "@oms/shared";
import * as initial from "./001_initial";
import * as lockingReservation from "./002_locking_reservation";
import * as flushOrderIndex from "./003_flush_order_index";
import * as failureFields from "./004_failure_fields";
import * as pagingIndexes from "./005_paging_indexes";
import * as orderLifecycle from "./006_order_lifecycle";
import * as eventsOutbox from "./007_events_outbox";

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Migrations are listed here rather than discovered on disk, so they run the same under tsx, vitest and a bundle. */
const MIGRATIONS: Array<[string, Migration]> = [
  ["001_initial", initial],
  ["002_locking_reservation", lockingReservation],
  ["003_flush_order_index", flushOrderIndex],
  ["004_failure_fields", failureFields],
  ["005_paging_indexes", pagingIndexes],
  ["006_order_lifecycle", orderLifecycle],
  ["007_events_outbox", eventsOutbox],
];

const source: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => MIGRATIONS,
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

/** What knex's migrate.latest and migrate.down answer (untyped there): the batch number and the names run. */
const MigrationRun = z.tuple([z.number(), z.array(z.string())]);
const MigrationNames = z.array(z.string());

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = MigrationRun.parse(await db.migrate.latest({ migrationSource: source }));
  return applied;
}

/** Undoes the newest applied migration (an operator's way back, and the tests' way to an older schema). */
export async function migrateDown(db: Knex): Promise<string[]> {
  const [, undone] = MigrationRun.parse(await db.migrate.down({ migrationSource: source }));
  return undone;
}

/**
 * Creates the database if needed and applies migrations: the release step
 * (`npm run migrate`, `node dist/migrate.js`, the compose `migrate` service, the
 * Kubernetes Job) and `npm start`'s local demo. knex's lock lets one of several
 * concurrent runs migrate while the others wait here and retry.
 */
export async function prepareDatabase(url: string): Promise<string[]> {
  await ensureDatabase(url);
  const db = createDb(url, 1);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await migrateLatest(db);
      } catch (err) {
        // knex raises its (unexported) LockError, named "MigrationLocked", when another run
        // holds the lock or taking it failed; either way waiting and retrying is right.
        const locked = err instanceof Error && err.name === "MigrationLocked";
        if (!locked || attempt >= 60) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await db.destroy();
  }
}

/** The schema of the database is behind this code: the migration step has not run. */
export class SchemaNotCurrentError extends Error {
  readonly code = "SCHEMA_NOT_CURRENT";
  constructor(
    readonly database: string,
    readonly pending: string[],
  ) {
    super(
      `the database "${database}" is not migrated (pending: ${pending.join(", ")}): ` +
        "run the migration step first, `npm run migrate` (`node dist/migrate.js` from a build)",
    );
    this.name = "SchemaNotCurrentError";
  }
}

/**
 * The migrations this code knows that database `database` has not applied (all of them
 * when the database or its bookkeeping table does not exist). Read-only, over a
 * connection that names no database: knex's own migrate.list() would create its tables.
 */
export async function pendingMigrations(server: Knex, database: string): Promise<string[]> {
  const bookkeeping = await server("information_schema.TABLES")
    .where({ TABLE_SCHEMA: database, TABLE_NAME: "knex_migrations" })
    .first("TABLE_NAME");
  const applied = bookkeeping ? MigrationNames.parse(await server(`${database}.knex_migrations`).pluck("name")) : [];
  return MIGRATIONS.map(([name]) => name).filter((name) => !applied.includes(name));
}

/**
 * What the API, worker and autoscaler processes do at start instead of migrating:
 * throws SchemaNotCurrentError when the database (or its schema) is missing or behind.
 * A schema ahead of this code (a newer release migrated already) is accepted.
 */
export async function assertSchemaCurrent(url: string, waitForServerMs = 60_000): Promise<void> {
  const { database } = parseDatabaseUrl(url);
  const deadline = Date.now() + waitForServerMs;
  for (;;) {
    const server = createDb(url, 1, false);
    try {
      const pending = await pendingMigrations(server, database);
      if (pending.length) throw new SchemaNotCurrentError(database, pending);
      return;
    } catch (err) {
      // A server that is down for a moment (restarting, failing over) is waited for: a
      // process started during the blip must not die of it. A stale schema is final.
      if (!isDbUnavailable(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      await server.destroy();
    }
  }
}

export { DEMO_CATALOG, seedDemoCatalog, seedDemoCatalogIfEmpty } from "./seed";
