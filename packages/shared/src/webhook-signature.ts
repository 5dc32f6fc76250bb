import { createHmac, timingSafeEqual } from "node:crypto";

/** The header every webhook delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = "Oms-Signature";

/** The HMAC-SHA256, in hex, of `<timestamp>.<body>` under the endpoint's secret. */
export function signPayload(secret: string, timestampS: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestampS}.${body}`).digest("hex");
}

/** The value of the Oms-Signature header for a body sent at `timestampS`. */
export function signatureHeader(secret: string, body: string, timestampS = Math.floor(Date.now() / 1000)): string {
  return `t=${timestampS},v1=${signPayload(secret, timestampS, body)}`;
}

/**
 * A receiver's check (the README shows the same in plain Node): the signature matches the
 * raw body, and the timestamp is within `toleranceS` of now, so a captured request cannot
 * be replayed later.
 */
export function verifySignature(
  header: string | undefined,
  body: string,
  secret: string,
  options: { toleranceS?: number; nowS?: number } = {},
): boolean {
  if (!header) return false;
  const parts = new Map(
    header.split(",").map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1") ?? "";
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceS ?? 300)) return false;
  return timingSafeEqual(Buffer.from(v1, "hex"), Buffer.from(signPayload(secret, t, body), "hex"));
}
