/**
 * The values the fuzz suites build requests from: hostile text (SQL, Lua/Redis, unicode,
 * control characters, paths), ids, numbers and tokens that break a field's rule by
 * construction, and raw JSON of the wrong type.
 */
import fc, { type Arbitrary } from "fast-check";
import { P1 } from "./fuzz-system";

export const json = (value: unknown): string => JSON.stringify(value);

/** A JSON object from [key, raw JSON value] entries; keys may repeat. */
export function object(entries: ReadonlyArray<readonly [string, string]>): string {
  return `{${entries.map(([k, v]) => `${json(k)}:${v}`).join(",")}}`;
}

/** Percent-encodes every byte of the UTF-8 form except the unreserved characters. */
export function enc(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export const HOSTILE = [
  // SQL
  "' OR 1=1 --",
  "' OR '1'='1",
  "'; DROP TABLE product_details; --",
  '" OR ""="',
  "1; SELECT SLEEP(20)",
  "' UNION SELECT * FROM payments --",
  "%' AND 1=0 --",
  "\\",
  "`",
  "admin'--",
  "0x27",
  // Lua / Redis
  "{",
  "}",
  "*",
  "?",
  "[",
  "]",
  "[a-z]*",
  "{fz}:stock:*",
  "EVAL",
  "EVAL \"return redis.call('FLUSHALL')\" 0",
  "KEYS *",
  "]]..os.exit()..[[",
  "\r\nFLUSHALL\r\n",
  "\n",
  "$-1",
  "*1\r\n$4\r\nPING",
  // unicode
  "😀",
  "👩‍👩‍👧‍👦",
  "\u202eevil",
  "שלום",
  "مرحبا",
  "e\u0301\u0301\u0301",
  "Z\u0364\u0354\u0367\u0311\u0313a\u0308\u0356\u032d",
  "\ufeff",
  "\u200b",
  "\ud800",
  "\udfff",
  "a\ud83d",
  "𝕏",
  "ﷺ",
  "\u0000",
  "\u0085",
  "\u2028",
  // paths, templates
  "../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "%2e%2e%2f",
  "/",
  "${jndi:ldap://x}",
  "{{7*7}}",
  "%s%n%x",
  "__proto__",
  "constructor",
];

export const CONTROL = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  "\u007f",
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(0x80 + i)),
];
export const WHITESPACE = [
  " ",
  "\t",
  "\n",
  "\r\n",
  "\u000b",
  "\u000c",
  "\u00a0",
  "\u1680",
  "\u2000",
  "\u2028",
  "\u2029",
  "\u205f",
  "\u3000",
  "\ufeff",
];
export const ODD_CODE_UNITS = [
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "\u0301",
  "\u200d",
  "\u202e",
  "\ufffd",
  "\uffff",
];

/** Text of every kind: hostile specimens, graphemes, any code point, lone surrogates. */
export const text: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE), weight: 4 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 24 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 24 }), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...ODD_CODE_UNITS), maxLength: 6 }), weight: 1 },
);

/** Code points, as zod measures a string's length (a lone surrogate counts as one). */
export const codePoints = (s: string): number => [...s].length;
/** Longer than `max` code points after trimming (starts and ends with a letter). */
export const tooLong = (max: number): Arbitrary<string> =>
  fc.tuple(text, fc.integer({ min: max + 1, max: max * 3 })).map(([s, n]) => {
    let out = `x${s}`;
    while (codePoints(out) < n) out += s.length > 0 ? s : "y";
    return `${out}z`;
  });
export const blank: Arbitrary<string> = fc
  .array(fc.constantFrom(...WHITESPACE), { maxLength: 5 })
  .map((a) => a.join(""));
/** A control character inside (not at the ends, which trimming would remove). */
export const withControl: Arbitrary<string> = fc
  .tuple(text, fc.constantFrom(...CONTROL), text)
  .map(([a, c, b]) => `x${a}${c}${b}z`);

/** Whitespace at either end of an otherwise valid id. */
export const padded: Arbitrary<string> = fc
  .tuple(fc.constantFrom(...WHITESPACE.filter((w) => w.length > 0)), fc.boolean())
  .map(([w, before]) => (before ? `${w}id` : `id${w}`));
/** A lone surrogate inside (valid UTF-16 pairs are fine): only a JSON body can carry one. */
export const withLoneSurrogate: Arbitrary<string> = fc
  .constantFrom("\ud800", "\udbff", "\udc00", "\udfff")
  .map((u) => `x${u}z`);

/** Ids: 1..100, unpadded, no control characters, well formed. Invalid ones break that by construction. */
export const invalidIdText: Arbitrary<string> = fc.oneof(tooLong(100), blank, withControl, padded);

/** Hostile but valid ids: no control characters, 1..100 code units after trimming, well formed. */
export const hostileValidId: Arbitrary<string> = text.map((s) => {
  let out = "";
  for (const ch of s.replace(/\p{Cc}/gu, "").replace(/\p{Cs}/gu, "")) {
    if (out.length + ch.length > 98) break;
    out += ch;
  }
  return `~${out}~`;
});

export const NUMBER_LITERALS = [
  "1e308",
  "-1e308",
  "1e309",
  "-1e309",
  "1E400",
  "-0",
  "-0.0",
  "0",
  "-1",
  "0.5",
  "-0.5",
  "1.5",
  "2.000001",
  "1e-7",
  "5e-324",
  "9007199254740993",
  "-9007199254740993",
  "18446744073709551616",
  "1000001",
  "100000001",
  "1000000001",
  "1e21",
  "123456789012345678901234567890",
  "1.0",
  "1e2",
];
export const numberLiteral: Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NUMBER_LITERALS),
  fc.integer().map(String),
  fc.integer({ min: -(2 ** 53) * 4, max: 2 ** 53 * 4 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);

export const deepArray = fc.integer({ min: 1_000, max: 6_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`);
export const deepObject = fc.integer({ min: 1_000, max: 2_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`);
export const deep = fc.oneof(deepArray, deepObject);

export const POLLUTING_VALUES = [
  '{"polluted":true}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"toString":1}',
  '{"toString":1,"valueOf":1}',
  '{"hasOwnProperty":"x"}',
];
export const structural = ["null", "true", "false", "[]", "{}", `["${P1}"]`, `{"id":"${P1}"}`];

/** Raw JSON of the wrong type where a string belongs. */
export const notAString: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...structural), weight: 3 },
  { arbitrary: fc.constantFrom(...POLLUTING_VALUES), weight: 3 },
  { arbitrary: numberLiteral, weight: 2 },
  {
    arbitrary: fc
      .jsonValue({ maxDepth: 2 })
      .filter((v) => typeof v !== "string")
      .map(json),
    weight: 1,
  },
  { arbitrary: deep, weight: 1 },
);
/** Raw JSON of the wrong type where a number belongs. */
export const notANumber: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...structural, '"1"', '"1e3"', '"abc"', '""', '"NaN"', '"Infinity"', "[1]"), weight: 3 },
  { arbitrary: fc.constantFrom(...POLLUTING_VALUES), weight: 2 },
  { arbitrary: text.map(json), weight: 2 },
  {
    arbitrary: fc
      .jsonValue({ maxDepth: 2 })
      .filter((v) => typeof v !== "number")
      .map(json),
    weight: 1,
  },
  { arbitrary: deep, weight: 1 },
);

// A URL cannot carry a lone surrogate (encoding makes it U+FFFD), a JSON body can.
export const invalidId: Arbitrary<string> = fc.oneof(invalidIdText.map(json), withLoneSurrogate.map(json), notAString);
/** A number literal outside `valid`, or a value of another type. */
export const invalidNumber = (valid: (n: number) => boolean): Arbitrary<string> =>
  fc.oneof(
    { arbitrary: numberLiteral.filter((lit) => !valid(JSON.parse(lit) as number)), weight: 3 },
    { arbitrary: notANumber, weight: 2 },
  );
export const intIn = (min: number, max: number) => (n: number) => Number.isInteger(n) && n >= min && n <= max;

export const PAYMENT_TOKEN_CHARS = /[A-Za-z0-9_.:-]/;
export const invalidPaymentToken: Arbitrary<string> = fc.oneof(
  fc.constant('""'),
  fc
    .tuple(fc.stringMatching(/^[A-Za-z0-9_.:-]{0,20}$/), text, fc.stringMatching(/^[A-Za-z0-9_.:-]{0,20}$/))
    .filter(([, s]) => [...s].some((c) => !PAYMENT_TOKEN_CHARS.test(c)))
    .map(([a, s, b]) => json(`${a}${s}${b}`)),
  fc.integer({ min: 201, max: 600 }).map((n) => json("t".repeat(n))),
  notAString,
);
export const invalidProductName: Arbitrary<string> = fc.oneof(tooLong(255).map(json), blank.map(json), notAString);
