/**
 * Bodies the JSON parser refuses, whatever the route: malformed JSON, bodies past
 * MAX_BODY_BYTES (plain, chunked or a gzip bomb), charsets other than UTF-8, and content
 * encodings that are unknown or do not decompress.
 */
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import fc, { type Arbitrary } from "fast-check";
import { MAX_BODY_BYTES } from "./fuzz-system";
import { type BodyVerdict, jsonHeaders } from "./fuzz-bodies";
import { deep, text } from "./fuzz-values";

/** Bodies the JSON parser refuses, on any route: checked before routing, auth or content type. */
export const MALFORMED_SEEDS = [
  '{"clientID":"fz-a","productID":"fz-p1","quantity":1}',
  '{"clientID":"fz-a","paymentToken":"tok_ok"}',
  '{"productID":"fz-a","productName":"n","priceCents":1,"quantity":1}',
  '{"add":1}',
  '{"set":0}',
];
export function isMalformed(body: string): boolean {
  if (body.length === 0) return false; // an empty body is {}
  if (!/^[\s]*[[{]/.test(body)) return true; // strict: only objects and arrays
  try {
    JSON.parse(body);
    return false;
  } catch {
    return true;
  }
}
export const malformedJson: Arbitrary<string> = fc
  .oneof(
    fc.tuple(fc.constantFrom(...MALFORMED_SEEDS), fc.nat()).map(([s, n]) => s.slice(0, n % s.length)),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => `${s.slice(0, -1)},}`),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => s.replaceAll('"', "'")),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => s.replace(/:(\d+)/, ":NaN")),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => s.replace(/"(\w+)":/g, "$1:")),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => `${s}${s}`),
    fc.constantFrom(
      "{",
      "}",
      "[",
      "{,}",
      "[1,]",
      '{"quantity":Infinity}',
      '{"quantity":-Infinity}',
      '{"quantity":+1}',
      '{"quantity":01}',
      '{"quantity":.5}',
      '{"quantity":1.}',
      '{"quantity":0x10}',
      '{"quantity":1e}',
      '{"quantity":undefined}',
      '{"clientID":"a\u0001b"}',
      '{"clientID":"\\x41"}',
      '{"clientID":"\\u12"}',
      '{"clientID":"\\ud800}',
      "{/* comment */}",
      '{"a":1 // comment\n}',
      "{'clientID':'fz'}",
      '{"clientID" "fz"}',
      "{True: None}",
      "NaN",
      "1",
      "-0",
      '"just a string"',
      "null",
      "true",
      "   ",
      "\u0000",
      "\ufeff\ufeff{}",
      `${"[".repeat(2_000)}${"]".repeat(1_999)}`,
    ),
    fc.tuple(text, deep).map(([s, d]) => `${d.slice(0, Math.max(1, d.length - 1))}${s}`),
    fc.string({ unit: "binary", maxLength: 60 }),
  )
  .filter(isMalformed);

export const compress = (encoding: string, data: string): Buffer =>
  encoding === "gzip" ? gzipSync(data) : encoding === "deflate" ? deflateSync(data) : brotliCompressSync(data);
/**
 * Compressed bodies that do not decompress: a truncated stream (no encoding accepts one), or
 * random bytes behind a header byte gzip and zlib refuse. (Random bytes alone can be a
 * complete stream: 0x06 is an empty brotli stream.)
 */
export const corruptStream: Arbitrary<[string, Buffer]> = fc.oneof(
  fc
    .tuple(fc.constantFrom("gzip", "deflate", "br"), fc.constantFrom(...MALFORMED_SEEDS), fc.nat())
    .map(([encoding, seed, cut]): [string, Buffer] => {
      const full = compress(encoding, seed);
      return [encoding, full.subarray(0, 1 + (cut % (full.length - 1)))];
    }),
  fc
    .tuple(fc.constantFrom("gzip", "deflate"), fc.uint8Array({ maxLength: 64 }))
    .map(([encoding, bytes]): [string, Buffer] => [encoding, Buffer.concat([Buffer.from([0]), bytes])]),
);

export const parserBodies: Arbitrary<BodyVerdict> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(malformedJson, jsonHeaders).map(([body, headers]) => ({
      label: "malformed JSON",
      headers,
      body,
      status: [400],
      mentions: [/JSON/],
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES * 4 }),
        fc.constantFrom("string", "array", "deep"),
        fc.boolean(),
      )
      .map(([size, shape, chunked]) => {
        const body =
          shape === "string"
            ? `{"clientID":"${"x".repeat(size)}"}`
            : shape === "array"
              ? `[${"1,".repeat(size / 2)}1]`
              : `${"[".repeat(size)}${"]".repeat(size)}`;
        return {
          label: `oversized ${shape}${chunked ? " chunked" : ""}`,
          headers: { "content-type": "application/json" },
          body,
          chunked,
          status: [413],
          mentions: [/too large/i],
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("latin1", "iso-8859-1", "us-ascii", "windows-1252", "koi8-r", "shift_jis", "x-bogus", "utf8")
      .map((charset) => ({
        label: `charset ${charset}`,
        headers: { "content-type": `application/json; charset=${charset}` },
        body: "{}",
        status: [415],
        mentions: [/encoding|charset/i],
      })),
  },
  {
    weight: 2,
    arbitrary: corruptStream.map(([encoding, body]) => ({
      label: `corrupt ${encoding} stream`,
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body,
      status: [400, 415],
      mentions: [/encoding/i],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom("gzip", "deflate", "br"), malformedJson).map(([encoding, text]) => ({
      label: `${encoding} of malformed JSON`,
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body: compress(encoding, text),
      status: [400],
      mentions: [/JSON/],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX_BODY_BYTES + 1, max: 1_000_000 }).map((size) => ({
      label: "gzip bomb",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(`{"clientID":"${" ".repeat(size)}"}`),
      status: [413],
      mentions: [/too large/i],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("compress", "x-gzip", "gzip, br", "zstd", "identity, gzip").map((encoding) => ({
      label: `content encoding ${encoding}`,
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body: "{}",
      status: [415],
      mentions: [/encoding/i],
    })),
  },
);
