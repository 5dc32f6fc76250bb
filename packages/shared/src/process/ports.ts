import net from "node:net";

/** A port the OS says is free on `host` right now (another process may take it before it is bound). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A free port whose next `count - 1` ports are free too (a process and the ports it hands out after its own). */
export async function freePortRun(count: number, host = "127.0.0.1"): Promise<number> {
  for (;;) {
    const first = await freePort(host);
    const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => isFree(first + i + 1, host)));
    if (rest.every(Boolean)) return first;
  }
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
