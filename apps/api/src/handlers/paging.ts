import { z } from "zod";
import { PageCursor } from "@oms/shared";

/**
 * Opaque keyset cursors. A cursor is the last row's sort key with the name of the
 * listing it belongs to, base64url-encoded JSON: opaque to clients (the encoding may
 * change), and a cursor of one listing handed to another is a 400, not a wrong page.
 * Nothing in it is secret or trusted: it only says where to resume, and is validated
 * like any input.
 */
export function encodeCursor(listing: string, key: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify({ l: listing, k: key })).toString("base64url");
}

const Envelope = z.object({ l: z.string(), k: z.array(z.unknown()) });
const NOT_OURS = "not a cursor this listing gave out";

/**
 * `?cursor=` of one listing: the page query's string, decoded to the sort key it carries
 * (validated by `key`), or undefined for the first page. Inside the query's schema, so a
 * bad cursor is reported with any other bad parameter, by name, as a 400.
 */
export function cursorOf<S extends z.ZodType>(listing: string, key: S) {
  return PageCursor.transform((cursor, ctx): z.infer<S> | undefined => {
    if (cursor === undefined) return undefined;
    const after = key.safeParse(envelopeOf(cursor, listing));
    if (after.success) return after.data;
    ctx.addIssue({ code: "custom", message: NOT_OURS });
    return z.NEVER;
  });
}

/** The key array of a cursor of `listing`, or undefined for anything else. */
function envelopeOf(cursor: string, listing: string): unknown[] | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    // Not JSON under the base64: a made-up or truncated cursor, refused as one.
    return undefined;
  }
  const envelope = Envelope.safeParse(parsed);
  return envelope.success && envelope.data.l === listing ? envelope.data.k : undefined;
}

/**
 * A page from `limit + 1` rows read: the extra row only says that another page exists,
 * so the last page carries no nextCursor and a client never asks for an empty page.
 */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  listing: string,
  keyOf: (row: T) => ReadonlyArray<string | number>,
): { rows: T[]; nextCursor?: string } {
  if (rows.length <= limit) return { rows: [...rows] };
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return last === undefined ? { rows: page } : { rows: page, nextCursor: encodeCursor(listing, keyOf(last)) };
}
