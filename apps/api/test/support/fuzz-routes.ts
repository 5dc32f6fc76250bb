/**
 * The routes the fuzz suites send bodies to (not a test file itself): the fields each
 * takes, with values that are valid and values that break its rule, and a valid body.
 */
import fc, { type Arbitrary } from "fast-check";
import { P1, P2, P3 } from "./fuzz-system";
import { intIn, invalidId, invalidNumber, invalidPaymentToken, invalidProductName, json, object } from "./fuzz-values";

export interface FieldSpec {
  name: string;
  required: boolean;
  valid: Arbitrary<string>;
  invalid: Arbitrary<string>;
}

export interface RouteSpec {
  /** The fields an empty object body must name. */
  requiredMentions: readonly RegExp[];
  fields: readonly FieldSpec[];
  /** A valid body, for requests refused before the body is looked at. */
  validBody: string;
}

export const validIdJson = fc.stringMatching(/^fz-[a-z0-9]{1,12}$/).map(json);
export const knownProduct = fc.constantFrom(P1, P2, P3).map(json);

export const ADD_TO_CART: RouteSpec = {
  requiredMentions: [/clientID is required/, /productID is required/, /quantity is required/],
  fields: [
    { name: "clientID", required: true, valid: validIdJson, invalid: invalidId },
    { name: "productID", required: true, valid: fc.oneof(knownProduct, validIdJson), invalid: invalidId },
    {
      name: "quantity",
      required: true,
      valid: fc.integer({ min: 1, max: 3 }).map(String),
      invalid: invalidNumber(intIn(1, 1_000_000)),
    },
  ],
  validBody: object([
    ["clientID", json("fz-wellformed")],
    ["productID", json(P1)],
    ["quantity", "1"],
  ]),
};

export const CHECKOUT: RouteSpec = {
  requiredMentions: [/clientID is required/],
  fields: [
    { name: "clientID", required: true, valid: validIdJson, invalid: invalidId },
    { name: "paymentToken", required: false, valid: fc.constant(json("tok_ok")), invalid: invalidPaymentToken },
  ],
  validBody: object([
    ["clientID", json("fz-wellformed")],
    ["paymentToken", json("tok_ok")],
  ]),
};

export const UPSERT: RouteSpec = {
  requiredMentions: [
    /productID is required/,
    /productName is required/,
    /priceCents is required/,
    /quantity is required/,
  ],
  fields: [
    { name: "productID", required: true, valid: validIdJson, invalid: invalidId },
    { name: "productName", required: true, valid: fc.constant(json("Fuzzed")), invalid: invalidProductName },
    {
      name: "priceCents",
      required: true,
      valid: fc.integer({ min: 0, max: 10_000 }).map(String),
      invalid: invalidNumber(intIn(0, 100_000_000)),
    },
    {
      name: "quantity",
      required: true,
      valid: fc.integer({ min: 0, max: 10_000 }).map(String),
      invalid: invalidNumber(intIn(0, 1_000_000_000)),
    },
  ],
  validBody: object([
    ["productID", json("fz-new-product")],
    ["productName", json("New")],
    ["priceCents", "100"],
    ["quantity", "1"],
  ]),
};
