import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ENTRIES, entryCommand, runtimeLayout, type EntryName } from "../src/entries";

const NAMES = Object.keys(ENTRIES) as EntryName[];

describe("entryCommand: how one process starts another", () => {
  it("from the sources (here), runs each entry's TypeScript through tsx, from the repository root", () => {
    const { built, root } = runtimeLayout();
    expect(built).toBe(false);
    expect(existsSync(join(root, "package.json"))).toBe(true);
    for (const name of NAMES) {
      const command = entryCommand(name);
      expect(command).toEqual({ file: process.execPath, args: ["--import", "tsx", ENTRIES[name]], cwd: root });
      expect(existsSync(join(root, ENTRIES[name])), ENTRIES[name]).toBe(true);
    }
  });

  it("from a bundle in dist/, runs the built file with node, from the directory above dist/", () => {
    const bundle = pathToFileURL("/srv/app/dist/start.js").href;
    expect(runtimeLayout(bundle)).toEqual({ built: true, root: "/srv/app" });
    for (const name of NAMES) {
      expect(entryCommand(name, bundle)).toEqual({
        file: process.execPath,
        args: ["--enable-source-maps", `dist/${name}.js`],
        cwd: "/srv/app",
      });
    }
  });
});
