/**
 * Prints the configuration tables (one per process) generated from the config schemas;
 * with --write, replaces them in README.md between the config-table markers (a test
 * checks that the README holds these tables).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { configTableMarkdown } from "@oms/shared";

const tables = configTableMarkdown();
if (process.argv.includes("--write")) {
  const path = new URL("../README.md", import.meta.url);
  const readme = readFileSync(path, "utf8");
  const existing = /(<!-- config-table:begin -->\n)[\s\S]*?(<!-- config-table:end -->)/;
  if (!existing.test(readme)) throw new Error("README.md has no config-table markers to write between");
  writeFileSync(
    path,
    readme.replace(existing, (_all, begin: string, end: string) => `${begin}\n${tables}\n\n${end}`),
  );
  console.log("README.md: configuration tables updated (run prettier on it)");
} else {
  console.log(tables);
}
