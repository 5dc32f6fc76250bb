/**
 * Request bodies for the fuzz suites, per route (see fuzz-routes.ts): bodies with a wrong,
 * missing or duplicated field, JSON that is not an object with the fields, and content
 * types that are not JSON. Each comes with the answer the API must give.
 */
import fc, { type Arbitrary } from "fast-check";
import type { Headers, Verdict } from "./fuzz-requests";
import type { FieldSpec, RouteSpec } from "./fuzz-routes";
import { MAX_BODY_BYTES } from "./fuzz-system";
import { deepArray, deepObject, json, object, text } from "./fuzz-values";

/** Keys a body may carry besides its fields: prototype-pollution attempts and junk. */
export const extraEntries = (fieldNames: readonly string[]): Arbitrary<Array<[string, string]>> =>
  fc.array(
    fc.oneof(
      fc.constantFrom<[string, string]>(
        ["__proto__", '{"polluted":true,"isAdmin":true,"quantity":1,"clientID":"fz-proto"}'],
        ["__proto__", "null"],
        ["constructor", '{"prototype":{"polluted":true}}'],
        ["prototype", '{"polluted":true}'],
        ["toString", '"x"'],
        ["valueOf", "1"],
        ["hasOwnProperty", "1"],
      ),
      fc
        .tuple(
          text.filter((k) => !fieldNames.includes(k)),
          fc.jsonValue({ maxDepth: 2 }),
        )
        .map(([k, v]): [string, string] => [k, json(v)]),
    ),
    { maxLength: 3 },
  );

export interface BodyVerdict extends Verdict {
  headers: Headers;
  body?: string | Buffer;
}

export const JSON_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/json;charset=UTF-8",
];
export const jsonHeaders = fc.constantFrom(...JSON_TYPES).map((ct): Headers => ({ "content-type": ct }));

/** A body past the limit answers 413 whatever else is wrong with it. */
export function sized(v: BodyVerdict): BodyVerdict {
  if (v.body === undefined || Buffer.byteLength(v.body) <= MAX_BODY_BYTES || v.headers["content-encoding"]) return v;
  return { ...v, label: `${v.label}, oversized`, status: [413], mentions: [/too large/i], present: [] };
}

export type FieldMode = "valid" | "invalid" | "missing" | "duplicate";

/** Bodies with at least one wrong, missing or duplicated (last value wrong) field. */
export function fieldBodies(spec: RouteSpec): Arbitrary<BodyVerdict> {
  const perField = spec.fields.map((f) =>
    fc.record({
      mode: fc.constantFrom<FieldMode>("valid", "invalid", "missing", "duplicate"),
      good: f.valid,
      bad: f.invalid,
    }),
  );
  const names = spec.fields.map((f) => f.name);
  return fc
    .tuple(fc.tuple(...perField), extraEntries(names), fc.boolean(), jsonHeaders)
    .filter(([choices]) =>
      choices.some(
        (c, i) => c.mode === "invalid" || c.mode === "duplicate" || (c.mode === "missing" && spec.fields[i]?.required),
      ),
    )
    .map(([choices, extras, extrasFirst, headers]) => {
      const entries: Array<[string, string]> = [];
      const wrong: string[] = [];
      const present: string[] = [];
      choices.forEach((c, i) => {
        const field = spec.fields[i] as FieldSpec;
        if (c.mode === "valid") entries.push([field.name, c.good]);
        if (c.mode === "invalid") entries.push([field.name, c.bad]);
        if (c.mode === "duplicate") entries.push([field.name, c.good], [field.name, c.bad]);
        if (c.mode === "invalid" || c.mode === "duplicate") {
          wrong.push(field.name);
          present.push(field.name);
        }
        if (c.mode === "missing" && field.required) wrong.push(field.name);
      });
      const all = extrasFirst ? [...extras, ...entries] : [...entries, ...extras];
      return sized({
        label: `fields ${choices.map((c, i) => `${spec.fields[i]?.name}:${c.mode}`).join(",")}`,
        headers,
        body: object(all),
        status: [400],
        mentions: wrong.map((name) => new RegExp(`\\b${name}\\b`)),
        present,
      });
    });
}

/** Valid JSON that is not an object with the fields: arrays, {} and deep nesting. */
export function shapeBodies(spec: RouteSpec): Arbitrary<BodyVerdict> {
  const notAnObject = fc
    .oneof(
      fc.constantFrom("[]", "[{}]", `[${spec.validBody}]`, `[${spec.validBody},${spec.validBody}]`, "[null]"),
      deepArray,
    )
    .map((body) => ({ body, label: "a JSON array", status: [400], mentions: [/JSON object/] }));
  const empty = fc
    .oneof(fc.constantFrom("{}", "", "{ }", '{"":""}', '{"__proto__":{}}'), deepObject)
    .map((body) => ({ body, label: "no fields", status: [400], mentions: spec.requiredMentions }));
  return fc
    .tuple(fc.oneof(notAnObject, empty), jsonHeaders)
    .map(([v, headers]) => sized({ ...v, headers, present: [] }));
}

export const WRONG_TYPES = [
  "text/plain",
  "text/plain; charset=utf-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=fuzzboundary",
  "application/xml",
  "text/json",
  "text/html",
  "application/jsonp",
  "application/json-patch+json",
  "application/vnd.api+json",
  "application/ld+json",
  "application/octet-stream",
  "image/png",
];

/** A well-formed request in every other respect, with a content type that is not JSON (or none). */
export function wrongContentTypes(spec: RouteSpec): Arbitrary<BodyVerdict> {
  const form = "clientID=fz-form&productID=fz-p1&quantity=1&productName=x&priceCents=1&paymentToken=tok_ok";
  const multipart = [
    "--fuzzboundary",
    'Content-Disposition: form-data; name="clientID"',
    "",
    "fz-form",
    "--fuzzboundary--",
    "",
  ].join("\r\n");
  return fc
    .tuple(
      fc.option(fc.constantFrom(...WRONG_TYPES), { nil: undefined }),
      fc.constantFrom(spec.validBody, form, multipart, ""),
    )
    .map(([type, body]): BodyVerdict => ({
      label: `content type ${type ?? "(none)"}`,
      headers: type === undefined ? {} : { "content-type": type },
      ...(body === "" && type === undefined ? {} : { body }),
      status: [415],
      mentions: [/Content-Type/],
    }));
}
