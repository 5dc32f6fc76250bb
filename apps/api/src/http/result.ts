import type { z } from "zod";
import { HTTP_STATUS, Id, type ErrorCode } from "@oms/shared";

/** What a handler returns; only the Express adapter turns it into a response. */
export interface HttpResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** A body that is not JSON, sent as it is with this Content-Type. */
  contentType?: string;
  /** Why a 5xx happened, for the log line only: never sent to the client. */
  cause?: unknown;
}

/**
 * The one builder of failure bodies: the original's envelope plus a machine-readable
 * `code`, whose HTTP status comes from the one map in @oms/shared.
 */
export function failure(
  code: ErrorCode,
  error: string,
  extra: Record<string, unknown> = {},
  headers?: Record<string, string>,
): HttpResult {
  return { status: HTTP_STATUS[code], body: failureBody(code, error, extra), ...(headers ? { headers } : {}) };
}

/** The body alone, for the few guards that answer through Express directly (admin, Bull Board). */
export function failureBody(code: ErrorCode, error: string, extra: Record<string, unknown> = {}) {
  return { status: "Failed", error, code, ...extra };
}

export function success(
  body: Record<string, unknown> = {},
  status = 200,
  headers?: Record<string, string>,
): HttpResult {
  return { status, body: { status: "Success", error: "", ...body }, ...(headers ? { headers } : {}) };
}

export function unavailable(what: string): HttpResult {
  return failure("DEPENDENCY_UNAVAILABLE", `${what} is unavailable; try again shortly`, {}, { "Retry-After": "2" });
}

/** Validates input against a schema; a failure names each field and what is wrong with it. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; data: z.infer<S> } | { ok: false; result: HttpResult } {
  if (input === undefined || input === null || typeof input !== "object" || Array.isArray(input)) {
    return { ok: false, result: failure("INVALID_INPUT", "request body must be a JSON object") };
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, data: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.join(".") || "body";
    // zod 4 leaves `issue.input` out unless asked to, so whether the field was sent is read from the input.
    const missing = issue.code === "invalid_type" && valueAt(input, issue.path) === undefined;
    return missing ? `${field} is required` : `${field}: ${issue.message}`;
  });
  return { ok: false, result: failure("INVALID_INPUT", problems.join("; ")) };
}

/** The input's own value at a path, or undefined when a step is absent (JSON has no undefined). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = Reflect.get(value, key);
  }
  return value;
}

/** Validates an id taken from the path. */
export function parseId(field: string, value: string): { ok: true; id: string } | { ok: false; result: HttpResult } {
  const parsed = Id.safeParse(value);
  if (parsed.success) return { ok: true, id: parsed.data };
  return { ok: false, result: failure("INVALID_INPUT", `${field}: ${parsed.error.issues[0]?.message ?? "invalid"}`) };
}
