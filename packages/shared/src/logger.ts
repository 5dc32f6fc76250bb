import { pino, type Logger } from "pino";
import { traceFields } from "./tracing";
import { errorMessage } from "./parse";

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

/**
 * For a step whose failure is survivable (a lock that lapses by itself, a close while
 * Redis is gone): the failure is logged, never swallowed unseen, and the caller goes on.
 * `why` says what the failure costs, for whoever reads the log.
 */
export function logFailure(logger: Logger, why: string, level: "warn" | "debug" = "warn") {
  return (err: unknown): undefined => {
    logger[level]({ err: errorMessage(err) }, why);
    return undefined;
  };
}
