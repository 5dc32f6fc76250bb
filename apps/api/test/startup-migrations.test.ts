/**
 * Start-up as an operator runs it: migrating is its own step (`npm run migrate`); the
 * API, worker and autoscaler processes refuse a database that step has not brought up
 * to date, and the API started on a migrated one serves without migrating or seeding.
 * Bad configuration is startup-config.test.ts; the migrate and seed scripts on their own
 * are startup-scripts.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ENTRIES, createDb, freePort, withTimeout } from "@oms/shared";
import { migrateDown } from "@oms/migrations";
import { MYSQL_URL } from "../../../test/support/env";
import {
  databaseExists,
  env,
  freshDatabase,
  freshPrefix,
  products,
  runScript,
  setUpStartup,
  startProcess,
  waitHealthy,
} from "./support/startup-processes";

setUpStartup();

describe("API, worker and autoscaler start-up: migrating is a step of its own", () => {
  it.each([
    ["API", ENTRIES.api],
    ["workers", ENTRIES.workers],
    ["autoscaler", ENTRIES.autoscaler],
  ])(
    "%s: exits non-zero against an unmigrated database, naming `npm run migrate`, and creates nothing",
    async (what, entry) => {
      const database = await freshDatabase("unmigrated");
      const proc = startProcess(entry, {
        HOST: "127.0.0.1",
        PORT: "0",
        METRICS_PORT: "0",
        AUTOSCALE_METRICS_PORT: "0",
        DATABASE_URL: `${MYSQL_URL}/${database}`,
        REDIS_PREFIX: freshPrefix("unmigrated"),
      });

      const exit = await withTimeout(proc.exited, 90_000, `the ${what}'s exit on an unmigrated database`);

      const { stdout, stderr } = proc.output();
      expect(exit.code, `${stdout}\n${stderr}`).toBe(1);
      expect(stderr).toContain(`${what} failed to start: the database "${database}" is not migrated`);
      expect(stderr).toContain("001_initial");
      expect(stderr).toContain("`npm run migrate`");
      // Checking is read-only: no database, let alone tables, appears.
      expect(await databaseExists(database)).toBe(false);
    },
    120_000,
  );

  it("after `npm run migrate` the API starts, serves, neither migrates nor seeds, and stops cleanly on SIGTERM", async () => {
    const database = await freshDatabase("start");
    const settings = { DATABASE_URL: `${MYSQL_URL}/${database}` };
    const migrate = await runScript("scripts/migrate.ts", settings);
    expect(migrate.code, migrate.stderr).toBe(0);
    const migrations = (await env.db(`${database}.knex_migrations`).pluck("name")) as string[];

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = startProcess(ENTRIES.api, {
      ...settings,
      HOST: "127.0.0.1",
      PORT: String(port),
      REDIS_PREFIX: freshPrefix("start"),
      // Read by `npm start` only: the API never seeds, whatever this says.
      SEED_ON_START: "true",
    });
    await waitHealthy(url, api);

    const res = await fetch(`${url}/products`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; products: unknown[] };
    expect(body).toMatchObject({ status: "Success", products: [] });
    expect(await products(database)).toEqual([]);
    expect((await env.db(`${database}.knex_migrations`).pluck("name")) as string[]).toEqual(migrations);

    api.child.kill("SIGTERM");
    const exit = await withTimeout(api.exited, 10_000, "the API's exit after SIGTERM");
    expect(exit, api.output().stderr).toEqual({ code: 0, signal: null });
  }, 180_000);

  it("refuses a database an older release migrated, naming the pending migration; migrate applies just that", async () => {
    const database = await freshDatabase("behind");
    const settings = { DATABASE_URL: `${MYSQL_URL}/${database}` };
    expect((await runScript("scripts/migrate.ts", settings)).code).toBe(0);
    // The newest migration undone: the schema is one release behind this code.
    const db = createDb(settings.DATABASE_URL, 1);
    const [newest] = await migrateDown(db).finally(() => db.destroy());
    expect(newest).toBeDefined();

    const api = startProcess(ENTRIES.api, {
      ...settings,
      HOST: "127.0.0.1",
      PORT: "0",
      REDIS_PREFIX: freshPrefix("behind"),
    });
    const exit = await withTimeout(api.exited, 90_000, "the API's exit on a schema one migration behind");
    expect(exit.code).toBe(1);
    expect(api.output().stderr).toContain(`(pending: ${newest})`);

    const migrate = await runScript("scripts/migrate.ts", settings);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain(`applied: ${newest}\n`);
  }, 180_000);
});
