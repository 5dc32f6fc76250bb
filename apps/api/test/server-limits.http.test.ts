/**
 * The API's HTTP server bounds what one connection may hold (review finding 14: with
 * Node's defaults a slow body held a connection for 80+ s): headers and the whole request
 * must arrive in time, idle keep-alive connections close, and connections are capped.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { startApi, type RunningApi } from "../../../test/support/system";

let env: TestEnv;
let api: RunningApi;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env, {
    HTTP_HEADERS_TIMEOUT_MS: 1_000,
    HTTP_REQUEST_TIMEOUT_MS: 1_500,
    HTTP_KEEP_ALIVE_TIMEOUT_MS: 1_000,
    HTTP_MAX_CONNECTIONS: 3,
  });
});

afterAll(async () => {
  await api?.close();
  await env?.close();
});

function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const { port } = new URL(api.url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let data = "";
    const socket = connect(Number(port), "127.0.0.1", () => resolve({ socket, received: () => data, closed }));
    const closed = new Promise<number>((r) => socket.once("close", () => r(Date.now() - started)));
    socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
    socket.once("error", reject);
  });
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<"still open">((r) => setTimeout(() => r("still open"), ms))]);

describe("HTTP server limits", () => {
  it("answers 408 and closes a connection whose body trickles in past HTTP_REQUEST_TIMEOUT_MS", async () => {
    const { socket, received, closed } = await open();
    socket.write(
      "POST /addToCart HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
    );
    const trickle = setInterval(() => socket.writable && socket.write(" "), 200);
    try {
      const after = await within(closed, 6_000);
      expect(after).not.toBe("still open");
      expect(after).toBeLessThan(6_000);
      expect(received()).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it("closes a connection that never finishes its headers within HTTP_HEADERS_TIMEOUT_MS", async () => {
    const { socket, closed } = await open();
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => socket.writable && socket.write("X-Slow: 1\r\n"), 200);
    try {
      const after = await within(closed, 6_000);
      expect(after).not.toBe("still open");
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it("closes an idle keep-alive connection after HTTP_KEEP_ALIVE_TIMEOUT_MS", async () => {
    const { socket, received, closed } = await open();
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const after = await within(closed, 5_000);
    expect(received()).toMatch(/^HTTP\/1\.1 200/);
    expect(after).not.toBe("still open");
    socket.destroy();
  });

  it("refuses connections past HTTP_MAX_CONNECTIONS and serves again once they close", async () => {
    const held = await Promise.all([open(), open(), open()]);
    const extra = await open();
    expect(await within(extra.closed, 2_000)).not.toBe("still open");
    for (const c of held) expect(c.socket.destroyed).toBe(false);
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  });
});
