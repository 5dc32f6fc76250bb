/**
 * Prints the configuration table generated from the config schema; with --write,
 * replaces the table in README.md (a test checks that the README holds this table).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { configTableMarkdown } from "@oms/shared";

const table = configTableMarkdown();
if (process.argv.includes("--write")) {
  const path = new URL("../README.md", import.meta.url);
  const readme = readFileSync(path, "utf8");
  const existing = /^\| Variable +\| Default +\| Meaning +\|\n(?:\|.*\|\n)+/m;
  if (!existing.test(readme)) throw new Error("README.md has no configuration table to replace");
  writeFileSync(path, readme.replace(existing, `${table}\n`));
  console.log("README.md: configuration table updated (run prettier on it)");
} else {
  console.log(table);
}
