import { ADMIN_ROUTES } from "./admin";
import { opsRoutes } from "./ops";
import { SHOP_ROUTES } from "./shop";
import type { RouteSpec } from "./types";
import { WEBHOOK_ROUTES } from "./webhooks";

export type { RouteSpec } from "./types";

/**
 * The route table: every route the API serves, in the order Express matches them. One
 * function mounts it (http/mount.ts), one documents it (openapi.ts), and the metrics'
 * `route` label is its paths. Without ADMIN_TOKEN the admin routes are left out of all three.
 */
export function routeTable(options: { adminEnabled: boolean; document: () => unknown }): RouteSpec[] {
  return [
    ...SHOP_ROUTES,
    ...opsRoutes(options.document),
    ...(options.adminEnabled ? [...ADMIN_ROUTES, ...WEBHOOK_ROUTES] : []),
  ];
}
