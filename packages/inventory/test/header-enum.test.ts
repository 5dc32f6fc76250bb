/**
 * The Lua files document their contract in a header comment; these tests keep that
 * documentation, the InventoryCode enum and the SCRIPTS registry in agreement.
 */
import { readFileSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { InventoryCode, SCRIPTS } from "@oms/inventory";
import { createTestEnv, type TestEnv } from "../../../test/support/env";

const LUA_DIR = new URL("../src/lua/", import.meta.url);

interface LuaFile {
  file: string;
  header: string;
  body: string;
}

function readLuaFiles(): LuaFile[] {
  return readdirSync(LUA_DIR)
    .filter((f) => f.endsWith(".lua"))
    .sort()
    .map((file) => {
      const text = readFileSync(new URL(file, LUA_DIR), "utf8");
      const match = /^--\[\[([\s\S]*?)\]\]/.exec(text);
      if (!match) throw new Error(`${file} does not start with a --[[ ... ]] header comment`);
      return { file, header: match[1] ?? "", body: text.slice(match[0].length) };
    });
}

/** "0 OK, 1 INSUFFICIENT_STOCK, ..." -> [[0, "OK"], [1, "INSUFFICIENT_STOCK"], ...] */
function documentedCodes(header: string): Array<[number, string]> {
  return [...header.matchAll(/\b(\d+) ([A-Z][A-Z_]*[A-Z])\b/g)].map((m) => [Number(m[1]), m[2] ?? ""]);
}

/** The first element of every table the script returns: `return {3, 0}` -> 3. */
function returnedCodes(body: string): number[] {
  return [...new Set([...body.matchAll(/return\s*\{\s*(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}

/** KEYS[...] lines of the header: "KEYS[1]", "KEYS[3..n]". */
function documentedKeys(header: string): string[] {
  return [...header.matchAll(/^\s*KEYS\[([^\]]+)\]/gm)].map((m) => m[1] ?? "");
}

const luaFiles = readLuaFiles();
const enumEntries = Object.entries(InventoryCode).filter((e): e is [string, number] => typeof e[1] === "number");
const registry = Object.entries(SCRIPTS) as Array<[string, { file: string; numberOfKeys: number | undefined }]>;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

test("the parser sees every script and a non-trivial header in each", () => {
  const files = luaFiles.map((f) => f.file);
  for (const known of [
    "begin-commit-2.lua",
    "checkout-unlock-1.lua",
    "commit-3.lua",
    "reconcile.lua",
    "release.lua",
    "reserve.lua",
    "adjust-level-1.lua",
  ]) {
    expect(files).toContain(known);
  }
  for (const { file, header } of luaFiles) {
    expect(documentedCodes(header).length, file).toBeGreaterThanOrEqual(2);
    expect(documentedKeys(header).length, file).toBeGreaterThanOrEqual(1);
  }
});

test("InventoryCode values are unique and contiguous from 0, and the established codes keep their numbers", () => {
  const values = enumEntries.map(([, v]) => v).sort((a, b) => a - b);
  expect(values).toEqual(values.map((_, i) => i));
  // The Lua scripts hard-code these numbers: renumbering one is a breaking change.
  expect(Object.fromEntries(enumEntries)).toMatchObject({
    OK: 0,
    INSUFFICIENT_STOCK: 1,
    NOT_LOADED: 2,
    HOLD_NOT_FOUND: 3,
    HOLD_RELEASED: 4,
    HOLD_COMMITTED: 5,
    KEY_MISMATCH: 6,
    INVALID_ARGUMENT: 7,
    NOT_EXPIRED: 8,
    NOT_OWNER: 9,
  });
});

test("every InventoryCode is documented by at least one script", () => {
  const documented = new Set(luaFiles.flatMap((f) => documentedCodes(f.header).map(([, name]) => name)));
  for (const [name] of enumEntries) expect(documented.has(name), name).toBe(true);
});

describe.each(luaFiles)("$file", ({ file, header, body }) => {
  test("every code its header documents has the same number in InventoryCode", () => {
    const pairs = documentedCodes(header);
    expect(pairs.length).toBeGreaterThan(0);
    for (const [number, name] of pairs) {
      expect(name in InventoryCode, `${file}: ${name} is not an InventoryCode`).toBe(true);
      expect(InventoryCode[name as keyof typeof InventoryCode], `${file}: ${number} ${name}`).toBe(number);
    }
  });

  test("every code the script can return is documented in its header", () => {
    const documented = new Set(documentedCodes(header).map(([n]) => n));
    const returned = returnedCodes(body);
    expect(returned.length).toBeGreaterThan(0);
    for (const code of returned)
      expect(documented.has(code), `${file} returns ${code} (${InventoryCode[code]}) undocumented`).toBe(true);
    // And nothing is documented that the script can never return.
    expect([...documented].sort((a, b) => a - b)).toEqual(returned);
  });

  test("is registered in SCRIPTS", () => {
    expect(registry.filter(([, spec]) => spec.file === file)).toHaveLength(1);
  });

  test("its key count agrees with its name, its registration and its header", () => {
    const [, spec] = registry.find(([, s]) => s.file === file) ?? [];
    const keys = documentedKeys(header);
    const fixed = /-(\d+)\.lua$/.exec(file);
    if (fixed) {
      const n = Number(fixed[1]);
      expect(spec?.numberOfKeys).toBe(n);
      expect(keys).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
      // It never reaches past its fixed keys.
      const used = [...body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
      expect(Math.max(...used)).toBeLessThanOrEqual(n);
      expect(body).not.toMatch(/#KEYS/);
    } else {
      // Variadic: the caller passes numkeys, and the header says where the variable part starts.
      expect(spec).toBeDefined();
      expect(spec?.numberOfKeys).toBeUndefined();
      expect(keys.at(-1)).toMatch(/^\d+\.\.n$/);
    }
  });
});

test("the held hash is a documented key of every script that moves held units, at the position the engine passes it", () => {
  const byFile = new Map(luaFiles.map((f) => [f.file, f.header]));
  const heldKey = (file: string) =>
    /^\s*KEYS\[(\d+)\]\s+hash of units held per product/m.exec(byFile.get(file) ?? "")?.[1];
  expect(heldKey("reserve.lua")).toBe("3");
  expect(heldKey("release.lua")).toBe("3");
  expect(heldKey("commit-3.lua")).toBe("3");
  expect(heldKey("reconcile.lua")).toBe("2");
  // Their variable stock keys start right after it.
  expect(documentedKeys(byFile.get("reserve.lua") ?? "").at(-1)).toBe("4..n");
  expect(documentedKeys(byFile.get("release.lua") ?? "").at(-1)).toBe("4..n");
  // begin-commit moves no units, so it neither needs nor takes the held hash.
  expect(heldKey("begin-commit-2.lua")).toBeUndefined();
});

test("SCRIPTS registers no file that does not exist, and no file twice", () => {
  const files = registry.map(([, spec]) => spec.file).sort();
  expect(files).toEqual(luaFiles.map((f) => f.file));
});

test("every registered script compiles in Redis (SCRIPT LOAD)", async () => {
  for (const [name, spec] of registry) {
    const source = readFileSync(new URL(spec.file, LUA_DIR), "utf8");
    const sha = await env.redis.script("LOAD", source);
    expect(sha, name).toMatch(/^[0-9a-f]{40}$/);
  }
});
