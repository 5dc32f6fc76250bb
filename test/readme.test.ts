import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { configTableMarkdown } from "@oms/shared";

/** Headings and table cells, without the padding and dash runs that a formatter may add. */
function normalizeTable(markdown: string): string {
  return markdown
    .split("\n")
    .filter((line) => line.trim().startsWith("|") || line.startsWith("#"))
    .map((line) =>
      line
        .trim()
        .split("|")
        .map((cell) => (/^\s*-{3,}\s*$/.test(cell) ? "---" : cell.trim()))
        .join("|"),
    )
    .join("\n");
}

test("the README's configuration tables are the ones the config schemas generate", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  expect(normalizeTable(readme)).toContain(normalizeTable(configTableMarkdown()));
});
