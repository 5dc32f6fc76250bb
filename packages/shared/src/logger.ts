import { pino, type Logger } from "pino";

export type { Logger };

/** Structured JSON logs. Payloads and secrets are never logged whole: only ids. */
export function createLogger(level: string, name: string): Logger {
  return pino({
    level,
    name,
    base: { pid: process.pid, svc: name },
    redact: {
      paths: ["*.authorization", "*.password", "*.paymentToken", "req.headers.authorization"],
      censor: "[redacted]",
    },
  });
}
