/**
 * The `route` label of the HTTP metrics, from a fixed set: a route as the route table declares it
 * (`/orders/:orderId`), a mounted UI by its mount path (`/admin/queues`), or `other`.
 * Never the request's own path: its letter case, a board asset or a made-up path would
 * each be a new series, and a client could grow /metrics without bound (review
 * finding 6). Matching is Express's: case-insensitive, an optional trailing slash, and
 * independent of whether authentication let the request reach its route.
 */
export class RouteLabels {
  private readonly patterns: Array<{ label: string; regex: RegExp }> = [];

  /** Declares a route of the table by its whole path (`/admin/orders`, whatever router serves it). */
  route(path: string): void {
    this.patterns.push({ label: path, regex: new RegExp(`^${segments(path)}/?$`, "i") });
  }

  /** Declares everything under a mount path as one label and returns the path for Express. */
  mount(path: string): string {
    this.patterns.push({ label: path, regex: new RegExp(`^${segments(path)}(?:/.*)?$`, "i") });
    return path;
  }

  /** The label of a request's URL (path and query as received). */
  label(url: string): string {
    const path = url.split("?", 1)[0] ?? "";
    return this.patterns.find((p) => p.regex.test(path))?.label ?? "other";
  }
}

/** A declared path as a regular expression: literal segments escaped, `:param` any one segment. */
function segments(path: string): string {
  return path
    .split("/")
    .map((s) => (s.startsWith(":") ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
}
