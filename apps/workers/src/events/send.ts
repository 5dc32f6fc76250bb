import {
  errorCode,
  fieldOf,
  SIGNATURE_HEADER,
  signatureHeader,
  stringField,
  type EventEnvelope,
  errorMessage,
} from "@oms/shared";
import type { AttemptResult } from "./delivery-store";

/**
 * POSTs one event to a receiver: the body is the event envelope as JSON, signed over
 * `<unix seconds>.<body>` (Oms-Signature: t=...,v1=...). Only a 2xx answer counts as
 * delivered; redirects are not followed (a receiver that moved is a failed attempt
 * until its endpoint is registered again). Never throws: a refused connection or a
 * timeout is an attempt's result.
 */
export async function sendEvent(
  url: string,
  secret: string,
  event: EventEnvelope,
  attempt: number,
  timeoutMs: number,
): Promise<AttemptResult & { ok: boolean }> {
  const body = JSON.stringify(event);
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  try {
    const res = await fetch(url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        "content-type": "application/json",
        "user-agent": "oms-webhooks/1",
        [SIGNATURE_HEADER]: signatureHeader(secret, body),
        "Oms-Event-Id": event.id,
        "Oms-Event-Type": event.type,
        "Oms-Delivery-Attempt": String(attempt),
      },
      body,
    });
    // The answer's body is not read: only its status counts.
    await res.body?.cancel().catch(() => undefined);
    const ok = res.status >= 200 && res.status < 300;
    return { ok, statusCode: res.status, error: ok ? null : `HTTP ${res.status}`, durationMs: elapsed() };
  } catch (err) {
    return { ok: false, statusCode: null, error: describe(err, timeoutMs), durationMs: elapsed() };
  }
}

/** A transport failure in words: the cause's code (ECONNREFUSED, ENOTFOUND, ...) when there is one. */
function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
    return `no answer within ${timeoutMs} ms`;
  const cause = fieldOf(err, "cause");
  const code = errorCode(cause);
  if (code !== undefined) {
    const message = stringField(cause, "message");
    return `${code}${message === undefined ? "" : `: ${message}`}`;
  }
  return errorMessage(err);
}
