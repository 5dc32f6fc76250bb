/**
 * The error codes every error body carries beside `status` and `error`, and the one map
 * from a code to its HTTP status. A code is chosen where the error arises (a handler, a
 * step, a guard); only the HTTP edge reads the map.
 */
export const ERROR_CODES = [
  "INVALID_INPUT",
  "EMPTY_CART",
  "UNAUTHORIZED",
  "PAYMENT_DECLINED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "INSUFFICIENT_STOCK",
  "INVALID_TRANSITION",
  "REFUND_EXCEEDS_ORDER",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "IDEMPOTENCY_MISMATCH",
  "RATE_LIMITED",
  "INTERNAL",
  "DEPENDENCY_UNAVAILABLE",
  "TIMEOUT",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_INPUT: 400,
  EMPTY_CART: 400,
  UNAUTHORIZED: 401,
  PAYMENT_DECLINED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INSUFFICIENT_STOCK: 409,
  /** The order's state does not allow the move (cancel a shipped order, refund a failed one). */
  INVALID_TRANSITION: 409,
  /** A refund asks for more of a line than was bought and not yet refunded. */
  REFUND_EXCEEDS_ORDER: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_MISMATCH: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  DEPENDENCY_UNAVAILABLE: 503,
  TIMEOUT: 504,
};

/** The code for a bare HTTP status some middleware raised (body-parser, the router): the first that maps to it. */
export function codeForStatus(status: number): ErrorCode {
  const code = ERROR_CODES.find((c) => HTTP_STATUS[c] === status);
  return code ?? (status >= 500 ? "INTERNAL" : "INVALID_INPUT");
}

/** An error thrown with its code, so whoever catches it classifies by type, never by message. */
export class CodedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CodedError";
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}
