import { z } from "zod";

/*
 * Values that come from outside the process (MySQL rows, Redis replies, job payloads,
 * messages, thrown library errors) are checked here against the shape the caller reads,
 * rather than trusted through a cast: a changed column or reply fails where it arrives.
 */

/** Rows a query answered, each checked against `row`. */
export function parseRows<S extends z.ZodType>(row: S, rows: unknown): Array<z.output<S>> {
  if (!Array.isArray(rows)) throw new TypeError(`expected rows, got ${typeof rows}`);
  return rows.map((r) => row.parse(r));
}

/** A row a query answered (`.first()`), or undefined when there was none. */
export function parseRow<S extends z.ZodType>(row: S, value: unknown): z.output<S> | undefined {
  return value === undefined ? undefined : row.parse(value);
}

/** Rows of a SELECT through knex's raw: mysql2 answers [rows, fields], and only rows are read. */
export function rawRows<S extends z.ZodType>(row: S, result: unknown): Array<z.output<S>> {
  if (!Array.isArray(result)) throw new TypeError("expected mysql2's [rows, fields]");
  return parseRows(row, result[0]);
}

const writeHeader = z.object({ affectedRows: z.number() });

/** affectedRows of an INSERT, UPDATE or DELETE through knex's raw (mysql2 answers [header, fields]). */
export function affectedRows(result: unknown): number {
  if (!Array.isArray(result)) throw new TypeError("expected mysql2's [header, fields]");
  return writeHeader.parse(result[0]).affectedRows;
}

/** A MySQL number that mysql2 may answer as a string (DECIMAL, SUM, BIGINT). */
export const dbNumber = z.union([z.number(), z.string()]);

/** The `code` of a thrown value (a Node, mysql2 or library error), if it has a string one. */
export function errorCode(err: unknown): string | undefined {
  return stringField(err, "code");
}

/** A field of a value from outside (a thrown error, a job's data), if the value is an object. */
export function fieldOf(value: unknown, field: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, field) : undefined;
}

/** A string field of a value from outside (an error's `code` or `message`, a job's `replyTo`), if it has one. */
export function stringField(value: unknown, field: string): string | undefined {
  const found = fieldOf(value, field);
  return typeof found === "string" ? found : undefined;
}

/** What went wrong, for a log line or an answer: a thrown Error's message, anything else as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
