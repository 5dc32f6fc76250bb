/**
 * Headers for the fuzz suites (not a test file itself): Authorization values that are not
 * the admin's token, and Idempotency-Key values out of range.
 */
import fc, { type Arbitrary } from "fast-check";
import type { Headers, Verdict } from "./fuzz-requests";
import { ADMIN_TOKEN } from "./fuzz-system";

export const AUTH_OK: Headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const latin1 = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
/** Authorization headers that are not the admin's bearer token. */
export const badAuth: Arbitrary<Headers> = fc
  .oneof(
    fc.constant<Headers>({}),
    fc
      .constantFrom(
        "",
        "Bearer",
        `bearer ${ADMIN_TOKEN}`,
        `Bearer  ${ADMIN_TOKEN}`,
        `Bearer ${ADMIN_TOKEN}x`,
        `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
        `Bearer ${ADMIN_TOKEN.toUpperCase()}`,
        `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}`,
        `Token ${ADMIN_TOKEN}`,
        ADMIN_TOKEN,
        "Bearer ' OR 1=1 --",
        "Bearer *",
        "Bearer null",
      )
      .map((authorization): Headers => ({ authorization })),
    latin1.map((v): Headers => ({ authorization: `Bearer ${v}` })),
  )
  .filter((h) => String(h.authorization ?? "").trim() !== `Bearer ${ADMIN_TOKEN}`);
export const UNAUTHORIZED: Omit<Verdict, "label"> = { status: [401], mentions: [/token/i] };

export const visibleAscii = fc.stringMatching(/^[\x21-\x7e]{0,30}$/);
/** Idempotency-Key values outside 1..255 visible ASCII characters. */
export const badIdempotencyKey: Arbitrary<string | string[]> = fc.oneof(
  fc.constant(""),
  fc.integer({ min: 256, max: 600 }).map((n) => "k".repeat(n)),
  fc
    .tuple(visibleAscii, fc.constantFrom(" ", "\t", "\u0080", "\u00e9", "\u00ff", "  "), visibleAscii)
    .map(([a, bad, b]) => `k${a}${bad}${b}k`),
  fc.tuple(visibleAscii, visibleAscii).map(([a, b]) => [`a${a}`, `b${b}`]),
);
