/**
 * The system's entry points, and how one process starts another: from a build
 * (`npm run build`, dist/) it runs the built file with node; from the sources
 * (development, tests) it runs the TypeScript through tsx. Which one is decided by
 * where this module itself runs from, so a built launcher never starts a source
 * child and a source launcher never needs a build.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Entry point -> its source file; `npm run build` bundles each into dist/<name>.js. */
export const ENTRIES = {
  api: "apps/api/src/main.ts",
  workers: "apps/workers/src/main.ts",
  autoscaler: "apps/workers/src/autoscale/main.ts",
  migrate: "scripts/migrate.ts",
  seed: "scripts/seed.ts",
  start: "scripts/start.ts",
} as const;

export type EntryName = keyof typeof ENTRIES;

/** A process to spawn: `file` with `args`, in `cwd`. */
export interface EntryCommand {
  file: string;
  args: string[];
  cwd: string;
}

/** Where the running code lives: a bundle in dist/ (built) or this source file. */
export function runtimeLayout(moduleUrl: string = import.meta.url): { built: boolean; root: string } {
  const here = dirname(fileURLToPath(moduleUrl));
  const built = !/\.[cm]?ts$/.test(moduleUrl);
  // dist/<bundle>.js sits one level below the root; this file, packages/shared/src, three.
  return { built, root: resolve(here, built ? ".." : "../../..") };
}

/** The command that runs entry point `name` with the same Node as this process. */
export function entryCommand(name: EntryName, moduleUrl: string = import.meta.url): EntryCommand {
  const { built, root } = runtimeLayout(moduleUrl);
  if (!built) return sourceCommand(ENTRIES[name], root);
  return { file: process.execPath, args: ["--enable-source-maps", join("dist", `${name}.js`)], cwd: root };
}

/** The command that runs a TypeScript file of the repository (a path from its root) through tsx. */
export function sourceCommand(path: string, root: string = runtimeLayout().root): EntryCommand {
  return { file: process.execPath, args: ["--import", "tsx", path], cwd: root };
}
