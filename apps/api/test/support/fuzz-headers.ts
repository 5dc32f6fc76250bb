/**
 * Headers and paths for the fuzz suites: Authorization values that are not the admin's
 * token, Idempotency-Key values out of range, path segments that are not ids, and
 * percent-encoding that does not decode.
 */
import fc, { type Arbitrary } from "fast-check";
import { ADMIN_TOKEN, type Headers, type Verdict } from "./fuzz-system";
import { enc, invalidIdText, text } from "./fuzz-values";
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

/** Percent-encoding that does not decode: truncated, non-hex, overlong, surrogates. */
export const PERCENT_GARBAGE = [
  "%",
  "%%",
  "%E0%A4%A",
  "%ZZ",
  "%ED%A0%80",
  "%C0%AF",
  "%FF",
  "%F0%9F%98",
  "%u0041",
  "%2",
  "%C2",
];
export const percentGarbage: Arbitrary<string> = fc
  .tuple(text, fc.constantFrom(...PERCENT_GARBAGE), text)
  .map(([a, g, b]) => `${enc(a)}~${g}~${enc(b)}`);
export const PERCENT: Omit<Verdict, "label"> = { status: [400], mentions: [/percent|encod|URL|path/i] };

/** A path segment that is not a valid id, and what the API must say about it. */
export const invalidIdSegment = (field: string): Arbitrary<{ segment: string } & Verdict> =>
  fc
    .oneof(
      { weight: 3, arbitrary: invalidIdText.filter((s) => s.length > 0) },
      { weight: 1, arbitrary: fc.constantFrom("%20", "%09", "%0A", "%C2%A0%E2%80%A8", "%00", "%7F", "%C2%85") },
    )
    .map((s) =>
      s.startsWith("%")
        ? { segment: s, label: `${field} ${s}`, status: [400], mentions: [new RegExp(field)] }
        : { segment: enc(s), label: `invalid ${field}`, status: [400], mentions: [new RegExp(field)] },
    );
export const garbageSegment: Arbitrary<{ segment: string } & Verdict> = percentGarbage.map((segment) => ({
  segment,
  label: "percent garbage",
  ...PERCENT,
}));

/** Junk after the path, which these routes ignore. */
export const junkQuery = fc.option(
  text.map((s) => `?x=${enc(s)}&__proto__[polluted]=1&limit=${enc(s)}`),
  { nil: "" },
);

// ---------------------------------------------------------------- properties
