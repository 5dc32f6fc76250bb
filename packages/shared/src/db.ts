import knexFactory, { type Knex } from "knex";
import { createLogger, type Logger } from "./logger";
import { errorCode, stringField } from "./parse";

export type { Knex };

export interface DbTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function parseDatabaseUrl(url: string): DbTarget {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) {
    throw new Error(`DATABASE_URL must name a database of letters, digits and '_' (got "${database}")`);
  }
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password),
    database,
  };
}

export interface DbOptions {
  /**
   * Every connection of the pool starts its sessions at this isolation level, so a
   * transaction needs no SET TRANSACTION statement of its own (group commit's pool).
   */
  sessionIsolation?: "read committed";
  /** Where knex's own warnings go (a connection refused or lost); a JSON logger at warn when unset. */
  logger?: Logger;
}

export function createDb(url: string, poolMax = 10, withDatabase = true, options: DbOptions = {}): Knex {
  const t = parseDatabaseUrl(url);
  const afterCreate = options.sessionIsolation
    ? (
        conn: { query(sql: string, cb: (err: Error | null) => void): void },
        done: (err: Error | null, c: unknown) => void,
      ) => conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", (err) => done(err, conn))
    : undefined;
  return knexFactory({
    client: "mysql2",
    connection: {
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      ...(withDatabase ? { database: t.database } : {}),
      charset: "utf8mb4",
      timezone: "Z",
      connectTimeout: 3_000,
      supportBigNumbers: true,
      bigNumberStrings: false,
    },
    pool: { min: 0, max: poolMax, ...(afterCreate ? { afterCreate } : {}) },
    acquireConnectionTimeout: 5_000,
    log: knexLog(options.logger ?? createLogger("warn", "db")),
  });
}

/**
 * knex prints its warnings with console.log, an error's whole stack included: during a
 * MySQL outage that was thousands of plain multi-line entries between the JSON logs.
 * Each goes to the structured logger instead, as one line: its message without frames.
 */
function knexLog(logger: Logger): Knex.Config["log"] {
  const child = logger.child({ component: "knex" });
  const line = (level: "debug" | "warn" | "error") => (message: unknown) => {
    if (typeof message === "string") child[level](withoutStack(message));
    else child[level]({ detail: message }, "knex");
  };
  return {
    debug: line("debug"),
    warn: line("warn"),
    error: line("error"),
    deprecate: (method: string, alternative: string) =>
      child.warn({ method, alternative }, `${method} is deprecated, use ${alternative}`),
  };
}

function withoutStack(message: string): string {
  return message
    .split("\n")
    .filter((l) => !/^\s+at /.test(l))
    .join(" ")
    .trim();
}

/** Creates the database named in the URL when it does not exist (utf8mb4, explicit collation). */
export async function ensureDatabase(url: string): Promise<void> {
  const { database } = parseDatabaseUrl(url);
  const admin = createDb(url, 1, false);
  try {
    await admin.raw(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.destroy();
  }
}

/** MySQL errors that mean "try the whole transaction again". */
export function isRetryableDbError(err: unknown): boolean {
  const code = errorCode(err);
  return code === "ER_LOCK_DEADLOCK" || code === "ER_LOCK_WAIT_TIMEOUT";
}

/**
 * Errors that mean the database could not be reached, or went away under a statement
 * (a crash, a restart, a cut network): nothing about the request itself.
 */
export function isDbUnavailable(err: unknown): boolean {
  return UNREACHABLE_CODES.has(errorCode(err) ?? "") || stringField(err, "name") === "KnexTimeoutError";
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ETIMEDOUT",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "PROTOCOL_CONNECTION_LOST",
  // A query sent on a connection that had already died.
  "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
  "PROTOCOL_ENQUEUE_AFTER_QUIT",
  "ER_CON_COUNT_ERROR",
  // The server is shutting down, or killed the connection on its way down.
  "ER_SERVER_SHUTDOWN",
  "ER_CONNECTION_KILLED",
]);

/** Runs fn in a transaction, retrying the whole transaction on deadlock or lock wait timeout. */
export async function withTransaction<T>(
  db: Knex,
  fn: (trx: Knex.Transaction) => Promise<T>,
  options: { attempts?: number; isolationLevel?: "read committed" | "repeatable read" } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn, options.isolationLevel ? { isolationLevel: options.isolationLevel } : undefined);
    } catch (err) {
      if (attempt >= attempts || !isRetryableDbError(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}
