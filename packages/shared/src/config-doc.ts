import { ConfigSchema } from "./config";

/** The configuration table of the README, built from the schema so the two cannot drift apart. */
export function configTableMarkdown(): string {
  const rows = Object.entries(ConfigSchema.shape).map(([name, schema]) => {
    const parsed = schema.safeParse(undefined);
    const fallback = parsed.success
      ? parsed.data === undefined
        ? "(unset)"
        : `\`${String(parsed.data)}\``
      : "(required)";
    return `| \`${name}\` | ${fallback} | ${schema.description ?? ""} |`;
  });
  return ["| Variable | Default | Meaning |", "| --- | --- | --- |", ...rows].join("\n");
}
