import { pino, type Logger } from "pino";
import { traceFields } from "./tracing";

export type { Logger };

/** Structured JSON logs. Payloads and secrets are never logged whole: only ids. */
export function createLogger(level: string, name: string): Logger {
  return pino({
    level,
    name,
    base: { pid: process.pid, svc: name },
    // A line written inside a traced request or job carries its trace and span ids.
    mixin: traceFields,
    redact: {
      paths: ["*.authorization", "*.password", "*.paymentToken", "req.headers.authorization"],
      censor: "[redacted]",
    },
  });
}
