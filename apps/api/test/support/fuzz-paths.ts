/**
 * Paths for the fuzz suites (not a test file itself): path segments that are not ids,
 * percent-encoding that does not decode, and junk after the path.
 */
import fc, { type Arbitrary } from "fast-check";
import type { Verdict } from "./fuzz-requests";
import { enc, invalidIdText, text } from "./fuzz-values";

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
