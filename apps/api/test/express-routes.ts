/** Test helper: what an Express app really registered, read from its router. */

/** The routes an Express app has registered, as [method, path], found by walking its router (Express 5). */
export function registeredRoutes(app: unknown): Array<[string, string]> {
  interface Layer {
    route?: { path: string | string[]; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
    rawPath?: unknown;
  }
  const found: Array<[string, string]> = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const method of Object.keys(layer.route.methods)) {
          for (const p of paths) found.push([method, `${prefix}${p === "/" && prefix ? "" : p}`]);
        }
      } else if (layer.handle?.stack) {
        if (typeof layer.rawPath !== "string") throw new Error("a router is mounted on a path this test cannot read");
        walk(layer.handle.stack, `${prefix}${layer.rawPath === "/" ? "" : layer.rawPath}`);
      }
    }
  };
  const router = (app as { router?: { stack?: Layer[] } }).router;
  if (!router?.stack) throw new Error("cannot read the Express router's stack");
  walk(router.stack, "");
  return found;
}
