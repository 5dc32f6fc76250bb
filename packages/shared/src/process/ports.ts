import { readFileSync } from "node:fs";
import net from "node:net";

/*
 * Ports for processes we start are picked below the OS's ephemeral range. Ports in that
 * range are what every outgoing connection takes as its local port, so on a busy host a
 * port found free there (as `listen(0)` finds them) is soon held by a connection to Redis
 * or MySQL, and the process we then start on it cannot bind. Below the range, only another
 * listener can take it.
 */

/** A port free on `host` right now (another listener may take it before it is bound). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return freePortRun(1, host);
}

/**
 * A free port whose next `count - 1` ports are free too (a process and the ports it hands
 * out after its own), all below `ceiling` (by default the ephemeral range's start).
 */
export async function freePortRun(count: number, host = "127.0.0.1", ceiling = ephemeralPortStart()): Promise<number> {
  const last = ceiling - count;
  const first = Math.min(10_000, last - 1_000);
  for (;;) {
    const candidate = first + Math.floor(Math.random() * (last - first));
    if (Array.from({ length: count }, (_, i) => candidate + i).some((port) => recentlyGiven.has(port))) continue;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(candidate + i, host)));
    if (free.every(Boolean)) return remember(candidate, count);
  }
}

/** The first port the kernel hands to outgoing connections (Linux's default where it cannot be read). */
export function ephemeralPortStart(): number {
  try {
    const start = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > 12_000 ? start : 32_768;
  } catch {
    // Not Linux: the IANA dynamic range, which other systems use, starts higher still.
    return 32_768;
  }
}

// Ports this process handed out and may not have bound yet: never handed out twice.
const recentlyGiven = new Set<number>();
function remember(first: number, count: number): number {
  for (let i = 0; i < count; i++) recentlyGiven.add(first + i);
  if (recentlyGiven.size > 5_000) recentlyGiven.clear();
  return first;
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
