/**
 * The boundary parsers: rows and write results from mysql2 (through a real MariaDB), and
 * the guards that read fields of thrown errors and job data without a cast.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createDb, ensureDatabase } from "../src/db";
import {
  affectedRows,
  dbNumber,
  errorCode,
  errorMessage,
  fieldOf,
  parseRow,
  parseRows,
  rawRows,
  stringField,
} from "../src/parse";

const scratch = `oms_parse_${process.pid}`;
const url = `mysql://root@127.0.0.1:3306/${scratch}`;
const db = createDb(url, 1);
beforeAll(() => ensureDatabase(url));
afterAll(async () => {
  await db.raw(`DROP DATABASE IF EXISTS ${scratch}`);
  await db.destroy();
});

const Row = z.object({ n: dbNumber, label: z.string() });

describe("rows from MariaDB", () => {
  it("rawRows reads the rows of a raw SELECT, checked against the row schema", async () => {
    const rows = rawRows(Row, await db.raw("SELECT 1 AS n, 'a' AS label UNION ALL SELECT SUM(2), 'b'"));
    expect(rows.map((r) => [Number(r.n), r.label])).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
  });

  it("a row that is not the shape the caller reads is refused where it arrives", async () => {
    const result: unknown = await db.raw("SELECT 1 AS n, NULL AS label");
    expect(() => rawRows(Row, result)).toThrow(z.ZodError);
  });

  it("affectedRows reads a write's header; a SELECT's answer is no write header", async () => {
    await db.raw("CREATE TABLE probe (id INT PRIMARY KEY)");
    expect(affectedRows(await db.raw("INSERT INTO probe (id) VALUES (1), (2)"))).toBe(2);
    expect(affectedRows(await db.raw("INSERT IGNORE INTO probe (id) VALUES (2)"))).toBe(0);
    const select: unknown = await db.raw("SELECT 1 AS n");
    expect(() => affectedRows(select)).toThrow(z.ZodError);
  });

  it("parseRow answers undefined for a .first() that found nothing, and parses a row it found", () => {
    expect(parseRow(Row, undefined)).toBeUndefined();
    expect(parseRow(Row, { n: "7", label: "x", extra: true })).toEqual({ n: "7", label: "x" });
    expect(() => parseRows(Row, { n: 1, label: "x" })).toThrow(TypeError);
  });
});

describe("fields of values from outside", () => {
  it("errorCode and stringField read string fields only; anything else is undefined", () => {
    const err = Object.assign(new Error("boom"), { code: "ER_DUP_ENTRY", errno: 1062 });
    expect(errorCode(err)).toBe("ER_DUP_ENTRY");
    expect(stringField(err, "message")).toBe("boom");
    expect(stringField(err, "errno")).toBeUndefined();
    expect(errorCode(null)).toBeUndefined();
    expect(errorCode("ECONNREFUSED")).toBeUndefined();
    expect(errorCode({ code: 5 })).toBeUndefined();
  });

  it("fieldOf answers a field of an object whatever its type, and undefined for a non-object", () => {
    expect(fieldOf({ status: 413 }, "status")).toBe(413);
    expect(fieldOf(undefined, "status")).toBeUndefined();
    expect(fieldOf(42, "status")).toBeUndefined();
  });

  it("errorMessage gives a thrown Error's message, and anything else thrown as text", () => {
    expect(errorMessage(new TypeError("bad row"))).toBe("bad row");
    expect(errorMessage("ECONNREFUSED")).toBe("ECONNREFUSED");
    expect(errorMessage(503)).toBe("503");
  });
});
