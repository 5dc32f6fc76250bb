import { z } from "zod";
import { Id, ORDER_STATES } from "./schemas";

/**
 * Keyset paging: `limit` rows after an opaque `cursor` (the last row's sort key, as the
 * previous page's `nextCursor` gave it). Never OFFSET: page 1 000 of a 100 000-row
 * catalog costs what page 1 costs. A limit above the maximum is a 400, not clamped, so a
 * client never silently gets fewer rows per page than it asked for and mistakes that
 * for the end.
 */
export const PAGE_LIMIT_DEFAULT = 100;
export const PAGE_LIMIT_MAX = 500;

export const PageLimit = z.coerce
  .number()
  .int("must be an integer")
  .min(1, "must be at least 1")
  .max(PAGE_LIMIT_MAX, `must be at most ${PAGE_LIMIT_MAX}`)
  .default(PAGE_LIMIT_DEFAULT)
  .describe(`Rows per page (default ${PAGE_LIMIT_DEFAULT}, at most ${PAGE_LIMIT_MAX}; more is a 400)`);

export const PageCursor = z
  .string()
  .min(1, "must not be empty")
  .max(500, "must be at most 500 characters")
  .optional()
  .describe("The previous page's nextCursor; absent for the first page");

/**
 * Unknown parameters are refused, each named: an `offset` a client still sends must not
 * silently restart at page 1 on every request.
 */
// A refinement rather than z.never(), which zod reports as an unnamed "unrecognized key".
const NotAParameter = z.unknown().refine(() => false, "not a parameter of this listing (page with limit and cursor)");

export const PageQuery = z.object({ limit: PageLimit, cursor: PageCursor }).catchall(NotAParameter);
export type PageQuery = z.infer<typeof PageQuery>;

const Instant = z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z" });

/** GET /admin/orders: newest first, filtered by state, client and a created_at window [since, until). */
export const AdminOrdersQuery = PageQuery.extend({
  state: z.enum(ORDER_STATES).optional().describe("Only orders in this state"),
  clientID: Id.optional().describe("Only this client's orders"),
  since: Instant.optional().describe("Only orders created at or after this instant"),
  until: Instant.optional().describe("Only orders created before this instant"),
});
export type AdminOrdersQuery = z.infer<typeof AdminOrdersQuery>;
