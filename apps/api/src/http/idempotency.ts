import { createHash } from "node:crypto";
import { z } from "zod";
import { logFailure, type Logger, type RedisClient } from "@oms/shared";
import type { Keyspace } from "@oms/shared";
import { failure, type HttpResult } from "./result";
import { infrastructureFailure } from "../handlers/errors";

/** What this module keeps in Redis per key: read back through this schema, never trusted. */
const StoredRecord = z.object({
  state: z.enum(["in_flight", "done"]),
  fingerprint: z.string(),
  response: z
    .object({
      status: z.number(),
      body: z.unknown(),
      headers: z.record(z.string(), z.string()).optional(),
      contentType: z.string().optional(),
      cause: z.unknown().optional(),
    })
    .optional(),
});
type StoredRecord = z.infer<typeof StoredRecord>;

export interface IdempotencyOptions {
  redis: RedisClient;
  keys: Keyspace;
  ttlMs: number;
  /** Whose key it is (a client, or the admin): the same key of two clients are two keys. */
  scope: string;
  /** The Idempotency-Key header, if any. */
  key: string | undefined;
  body: unknown;
  logger: Logger;
}

/**
 * Idempotency-Key as payment APIs use it: the first answer is stored and replayed for
 * the same key and scope; the same key with another body is 422; a key whose first
 * request is still running is 409. Answers of 5xx and 429 are not stored, so a retry
 * after an outage runs again. Records expire after `ttlMs`.
 */
export async function withIdempotency(
  options: IdempotencyOptions,
  run: () => Promise<HttpResult>,
): Promise<HttpResult> {
  const { redis, key, logger } = options;
  // Left in place, the in-flight record lapses after its TTL: until then a retry is told "being processed".
  const lapses = logFailure(logger, "idempotency record not updated: retries see 'being processed' until it lapses");
  if (key === undefined) return run();
  if (!/^[\x21-\x7e]{1,255}$/.test(key))
    return failure("INVALID_INPUT", "Idempotency-Key: must be 1 to 255 visible ASCII characters");

  const recordKey = options.keys.idempotency(options.scope, sha256(key));
  const fingerprint = sha256(stableJson(options.body));
  let claimed: string | null;
  try {
    claimed = await redis.set(
      recordKey,
      JSON.stringify({ state: "in_flight", fingerprint } satisfies StoredRecord),
      "PX",
      options.ttlMs,
      "NX",
    );
  } catch (err) {
    return infrastructureFailure(err);
  }

  if (claimed === null) {
    // Unreadable now is answered as "being processed": the client retries, which is safe.
    const stored = await redis.get(recordKey).catch(logFailure(logger, "idempotency record unreadable"));
    if (!stored) return beingProcessed();
    const record = StoredRecord.parse(JSON.parse(stored));
    if (record.fingerprint !== fingerprint)
      return failure("IDEMPOTENCY_MISMATCH", "Idempotency-Key was already used with a different request body");
    if (record.state === "in_flight" || !record.response) return beingProcessed();
    return { ...record.response, headers: { ...record.response.headers, "Idempotent-Replayed": "true" } };
  }

  let response: HttpResult;
  try {
    response = await run();
  } catch (err) {
    await redis.del(recordKey).catch(lapses);
    throw err;
  }
  if (response.status >= 500 || response.status === 429) {
    await redis.del(recordKey).catch(lapses);
  } else {
    await redis
      .set(
        recordKey,
        JSON.stringify({ state: "done", fingerprint, response } satisfies StoredRecord),
        "PX",
        options.ttlMs,
        "XX",
      )
      // The answer is sent regardless.
      .catch(lapses);
  }
  return response;
}

function beingProcessed(): HttpResult {
  return failure(
    "CONFLICT",
    "a request with this Idempotency-Key is being processed; retry shortly",
    {},
    { "Retry-After": "1" },
  );
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * JSON with sorted object keys, so the same body in another key order has the same fingerprint.
 * Iterative: JSON.parse accepts any depth, and a recursive walk of a body nested a few
 * thousand levels deep would overflow the stack (a 500 instead of the handler's 400).
 */
function stableJson(value: unknown): string {
  type Task = { text: string } | { value: unknown };
  const out: string[] = [];
  const tasks: Task[] = [{ value }];
  for (let task = tasks.pop(); task !== undefined; task = tasks.pop()) {
    if ("text" in task) {
      out.push(task.text);
      continue;
    }
    const current = task.value;
    const parts: Task[] = [];
    if (Array.isArray(current)) {
      current.forEach((item: unknown, i) => parts.push({ text: i === 0 ? "[" : "," }, { value: item }));
      parts.push({ text: current.length === 0 ? "[]" : "]" });
    } else if (current && typeof current === "object") {
      const entries = Object.entries(current as Record<string, unknown>).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      entries.forEach(([k, v], i) => parts.push({ text: `${i === 0 ? "{" : ","}${JSON.stringify(k)}:` }, { value: v }));
      parts.push({ text: entries.length === 0 ? "{}" : "}" });
    } else {
      out.push(JSON.stringify(current) ?? "null");
    }
    for (let i = parts.length - 1; i >= 0; i--) tasks.push(parts[i] as Task);
  }
  return out.join("");
}
