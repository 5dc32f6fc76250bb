import type { Knex } from "knex";
import { createDb, ensureDatabase } from "@oms/shared";
import * as initial from "./001_initial";
import * as lockingReservation from "./002_locking_reservation";
import * as flushOrderIndex from "./003_flush_order_index";
import * as failureFields from "./004_failure_fields";

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
];

const source: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => MIGRATIONS,
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

/**
 * Creates the database if needed and applies migrations. The API and every worker
 * process run this at start-up; knex's lock lets one of them migrate while the
 * others wait here and retry.
 */
export async function prepareDatabase(url: string): Promise<string[]> {
  await ensureDatabase(url);
  const db = createDb(url, 1);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await migrateLatest(db);
      } catch (err) {
        const locked = err instanceof Error && /already locked/i.test(err.message);
        if (!locked || attempt >= 60) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await db.destroy();
  }
}
export { DEMO_CATALOG, seedDemoCatalog, seedDemoCatalogIfEmpty } from "./seed";
