/**
 * `npm run build`: bundles each entry point (packages/shared/src/entries.ts) into
 * dist/<name>.js with esbuild, then copies the inventory's Lua scripts beside them.
 *
 * Why a bundler rather than tsc: the sources import each other without file
 * extensions (moduleResolution "bundler") and the workspace packages export their
 * .ts sources, neither of which Node's ESM loader accepts. Bundling the @oms/*
 * packages in and leaving every other bare import to node_modules gives files that
 * `node` runs as they are, with production dependencies only.
 */
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build, type Plugin } from "esbuild";
import { ENTRIES, runtimeLayout } from "../packages/shared/src/entries";

const ROOT = runtimeLayout().root;
const DIST = join(ROOT, "dist");

/** Bare imports stay imports (resolved from node_modules at run time), except our own @oms/* packages. */
const externalDependencies: Plugin = {
  name: "external-dependencies",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@oms/") ? undefined : { path: args.path, external: true },
    );
  },
};

rmSync(DIST, { recursive: true, force: true });
const started = performance.now();
await build({
  absWorkingDir: ROOT,
  entryPoints: Object.entries(ENTRIES).map(([out, source]) => ({ in: source, out })),
  outdir: DIST,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  plugins: [externalDependencies],
  logLevel: "warning",
});
// packages/inventory/src/scripts.ts reads `new URL("./lua/<file>", import.meta.url)`: in a bundle that is dist/lua.
cpSync(join(ROOT, "packages/inventory/src/lua"), join(DIST, "lua"), { recursive: true });
console.log(
  `built ${Object.keys(ENTRIES)
    .map((name) => `dist/${name}.js`)
    .join(", ")} and dist/lua/ in ${Math.round(performance.now() - started)} ms`,
);
