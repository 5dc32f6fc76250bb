/**
 * Concurrent migration runs: one takes knex's lock, the others wait and retry. The wait
 * recognises knex's lock error by its name, not by its message.
 */
import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { createDb, ensureDatabase } from "@oms/shared";
import { prepareDatabase } from "@oms/migrations";
import { MYSQL_URL } from "./support/env";

const url = `${MYSQL_URL}/oms_lock_${randomBytes(4).toString("hex")}`;
const db = createDb(url, 2);

afterAll(async () => {
  await db.raw(`DROP DATABASE IF EXISTS \`${new URL(url).pathname.slice(1)}\``);
  await db.destroy();
});

it("waits while another run holds the migration lock, then migrates", async () => {
  await ensureDatabase(url);
  await db.schema.createTable("knex_migrations_lock", (t) => {
    t.increments("index").primary();
    t.integer("is_locked");
  });
  await db("knex_migrations_lock").insert({ is_locked: 1 });
  let done = false;
  const run = prepareDatabase(url).then((applied) => {
    done = true;
    return applied;
  });
  await new Promise((r) => setTimeout(r, 1_000));
  expect(done).toBe(false);
  await db("knex_migrations_lock").update({ is_locked: 0 });
  expect(await run).toContain("001_initial");
});
