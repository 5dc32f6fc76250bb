/**
 * The shopper's types under their first module name: test/chaos/invariants.ts, which
 * another change owns, imports ShopperRecord from here. The code is in shopper.ts and
 * http-client.ts; drop this file once that import names shopper.ts.
 */
export type { ShopperRecord } from "./shopper";
