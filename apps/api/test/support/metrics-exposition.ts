/**
 * Readers of Prometheus text expositions, for operator-metrics.test.ts (not a test file
 * itself): a parser of the samples, the value of one sample, a scrape of a /metrics URL,
 * and `promtool check metrics` on an exposition.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { expect } from "vitest";

const PROMTOOL = "/usr/bin/promtool";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (enough of the format for these assertions; promtool checks the rest). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] ?? ""] = l[2] ?? "";
    samples.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and (at least) these labels; undefined when there is none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

export async function scrape(url: string): Promise<{ text: string; samples: Sample[]; contentType: string }> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  const text = await res.text();
  return { text, samples: parseExposition(text), contentType: res.headers.get("content-type") ?? "" };
}

/**
 * `promtool check metrics` on an exposition: exit 0 when clean, 3 when it parsed but the
 * linter has findings (one line each, starting with the metric name), 1 when it does not parse.
 */
export function promtoolCheck(text: string): { status: number | null; output: string; findings: string[] } {
  if (!existsSync(PROMTOOL)) {
    throw new Error(`${PROMTOOL} is missing: install Debian's prometheus package (.ci/run installs it)`);
  }
  const run = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8", timeout: 20_000 });
  const output = `${run.stdout}${run.stderr}`.trim();
  return { status: run.status, output, findings: output ? output.split("\n") : [] };
}
