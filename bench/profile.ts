/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per area
 * (our code, each dependency, Node's core, GC), over the samples of given time windows.
 * V8's profile clock and process.hrtime are both CLOCK_MONOTONIC on Linux, so the
 * bench's phase windows select the samples of the load alone.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { ROOT } from "./processes";
import { round } from "./stats";
import type { ProfileSummary } from "./types";
import type { TimeWindow } from "./phase";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives, in words a reader can act on. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(program)") return "V8/native (program)";
    if (functionName === "(idle)") return "idle";
    return `native: ${functionName || "(anonymous)"}`;
  }
  if (url.startsWith("node:")) {
    const mod = url.slice(5).replace(/^internal\//, "");
    if (/^(http|_http|net|stream|internal\/streams|streams|dns|tls)/.test(mod)) return "node: http/net/streams";
    return `node: ${mod.split("/")[0] ?? mod}`;
  }
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = path.slice(nm + "node_modules/".length).split("/");
    const pkg = rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1] ?? ""}` : (rest[0] ?? "?");
    return pkg;
  }
  const rel = relative(ROOT, path);
  const m = /^(apps\/[^/]+|packages\/[^/]+|migrations)\//.exec(rel);
  return m?.[1] ?? rel;
}

export function summarizeProfile(file: string, windows: TimeWindow[], label: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inside = (t: number) => windows.some((w) => t >= w.fromUs && t <= w.toUs);
  // If the clocks did not line up (no sample in any window), use every sample.
  let useAll = true;
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) {
    t += delta;
    if (inside(t)) {
      useAll = false;
      break;
    }
  }
  const selfUs = new Map<number, number>();
  t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (!useAll && !inside(t)) continue;
    // A sample stands for the time until the next one.
    const span = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i] ?? -1;
    selfUs.set(id, (selfUs.get(id) ?? 0) + span);
  }
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const area = areaOf(node.callFrame);
    if (area === "idle") continue;
    totalUs += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : "";
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? { name: functionName || "(anonymous)", where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const pct = (us: number) => round(totalUs ? (100 * us) / totalUs : 0, 1);
  return {
    window: useAll ? `${label} (whole process: windows did not match the profile clock)` : label,
    file: relative(ROOT, file),
    totalMs: round(totalUs / 1000, 0),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 20)
      .map((f) => ({ name: f.name, where: f.where, selfMs: round(f.us / 1000, 0), percent: pct(f.us) })),
    byArea: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([area, us]) => ({ area, selfMs: round(us / 1000, 0), percent: pct(us) })),
  };
}

function shortUrl(url: string): string {
  if (url.startsWith("node:")) return url;
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("node_modules/");
  return nm >= 0 ? path.slice(nm + "node_modules/".length) : relative(ROOT, path);
}
