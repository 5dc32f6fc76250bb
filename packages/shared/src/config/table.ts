import type { z } from "zod";
import { SETTING_GROUPS } from "./load";

function defaultOf(schema: z.ZodType): string {
  const parsed = schema.safeParse(undefined);
  if (!parsed.success) return "(required)";
  return parsed.data === undefined ? "(unset)" : `\`${String(parsed.data)}\``;
}

/** The configuration tables of the README, one per process, built from the schemas so the two cannot drift apart. */
export function configTableMarkdown(): string {
  return SETTING_GROUPS.map(({ title, settings }) => {
    const rows = Object.entries(settings).map(
      ([name, schema]: [string, z.ZodType]) => `| \`${name}\` | ${defaultOf(schema)} | ${schema.description ?? ""} |`,
    );
    return [`### ${title}`, "", "| Variable | Default | Meaning |", "| --- | --- | --- |", ...rows].join("\n");
  }).join("\n\n");
}
