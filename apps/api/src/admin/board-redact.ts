/** What Bull Board may show of a job: the same keys the logs redact never leave the server. */
const SECRET_KEYS = new Set(["paymentToken", "password", "authorization"]);
const CENSOR = "[redacted]";

/** A copy of job data (or a return value) with secret fields replaced, at any depth. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, SECRET_KEYS.has(key) ? CENSOR : redactSecrets(v)]),
  );
}

/**
 * A board API answer as the read-only viewer gets it: no stack traces. They name files,
 * paths and library versions, which the viewer has no need for (the admin, who has Redis
 * access in effect, keeps them). A failure's message stays in `failedReason`, and an
 * error body loses the `details` that carry a stack when NODE_ENV=development.
 */
export function forViewer(body: unknown): unknown {
  const clean = withoutStacks(body);
  if (clean === null || typeof clean !== "object" || Array.isArray(clean) || !("error" in clean)) return clean;
  return Object.fromEntries(Object.entries(clean).filter(([key]) => key !== "details"));
}

function withoutStacks(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutStacks);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, key === "stacktrace" ? [] : withoutStacks(v)]),
  );
}
