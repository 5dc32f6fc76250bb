/**
 * The one spawner and its helpers, on real child processes: readiness over IPC, a stop
 * that escalates to SIGKILL, a start that fails with the child's last words, output to a
 * log file, freeze and thaw, and the children's own watch of their parent's channel.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ChildStartError,
  freePort,
  freePortRun,
  sleep,
  spawnChild,
  waitFor,
  waitUntilReady,
  withTimeout,
  type Child,
  type EntryCommand,
} from "../src";

/** A tiny Node program as the child: `code` runs with `ready()` in scope. */
function script(code: string): EntryCommand {
  const ready = "const ready = () => process.send({ type: 'ready' });";
  return { file: process.execPath, args: ["-e", `${ready}\n${code}`], cwd: process.cwd() };
}

function start(code: string, output?: Parameters<typeof spawnChild>[0]["output"]): Child {
  return spawnChild({ name: "probe", command: script(code), env: { ...process.env }, output });
}

const KEEP_RUNNING = "setInterval(() => undefined, 1000);";

describe("spawnChild", () => {
  it("is ready when the child says so over IPC, and stops on SIGTERM with the child's own exit code", async () => {
    const child = start(`process.on("SIGTERM", () => process.exit(7)); setTimeout(ready, 200); ${KEEP_RUNNING}`);
    expect(child.readyAt).toBeNull();
    await waitUntilReady(child, { timeoutMs: 10_000 });
    expect(child.readyAt).toBeGreaterThanOrEqual(child.startedAt + 150);
    expect(await child.stop(5_000)).toEqual({ code: 7, signal: null });
    expect(child.isAlive()).toBe(false);
  });

  it("kills a child that ignores SIGTERM once the grace time is over, and says so", async () => {
    const child = start(`process.on("SIGTERM", () => undefined); ready(); ${KEEP_RUNNING}`);
    await waitUntilReady(child, { timeoutMs: 10_000 });
    let forced = false;
    const began = Date.now();
    const exit = await child.stop(300, () => (forced = true));
    expect(exit.signal).toBe("SIGKILL");
    expect(forced).toBe(true);
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    expect(child.signalled).toBe(true);
  });

  it("rejects a child that exits before it is ready, with its last output", async () => {
    const child = start(`console.error("cannot reach the database"); process.exit(3);`);
    const err: unknown = await waitUntilReady(child, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChildStartError);
    expect((err as ChildStartError).message).toMatch(/probe exited \(code 3, signal null\) before it was ready/);
    expect((err as ChildStartError).message).toContain("cannot reach the database");
    expect(child.signalled).toBe(false);
  });

  it("kills a child that is not ready in time", async () => {
    const child = start(KEEP_RUNNING);
    await expect(waitUntilReady(child, { timeoutMs: 300 })).rejects.toThrow(/not ready in 300 ms/);
    expect((await child.exited).signal).toBe("SIGKILL");
  });

  it("can wait for /readyz instead of the IPC message", async () => {
    const port = await freePort();
    const child = start(`
      ready();
      let up = false;
      setTimeout(() => (up = true), 400);
      require("node:http").createServer((q, s) => { s.statusCode = up ? 200 : 503; s.end(); }).listen(${port}, "127.0.0.1");`);
    await waitUntilReady(child, { timeoutMs: 10_000, readyzUrl: `http://127.0.0.1:${port}/readyz` });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    await child.stop(2_000);
  });

  it("writes its output to a log file and to onLine, and keeps a tail", async () => {
    const dir = mkdtempSync(join(tmpdir(), "oms-spawn-"));
    const lines: string[] = [];
    const child = start(`for (let i = 0; i < 50; i++) console.log("line " + i);`, {
      logFile: join(dir, "probe.log"),
      onLine: (line) => lines.push(line),
      tailLines: 5,
    });
    expect(await child.exited).toEqual({ code: 0, signal: null });
    await sleep(50);
    expect(readFileSync(join(dir, "probe.log"), "utf8").split("\n").filter(Boolean)).toHaveLength(50);
    expect(lines).toHaveLength(50);
    expect(child.tail()).toEqual([45, 46, 47, 48, 49].map((i) => `line ${i}`));
  });

  it("freezes a child with SIGSTOP and thaws it with SIGCONT", async () => {
    const child = start(`ready(); setInterval(() => console.log(Date.now()), 50);`, { tailLines: 1000 });
    await waitUntilReady(child, { timeoutMs: 10_000 });
    await waitFor(
      "output",
      () => child.tail().length,
      (n) => n > 0,
      5_000,
      20,
    );
    child.signal("SIGSTOP");
    await sleep(100);
    const frozenAt = child.tail().length;
    await sleep(400);
    expect(child.tail().length).toBe(frozenAt);
    child.signal("SIGCONT");
    await waitFor(
      "output again",
      () => child.tail().length,
      (n) => n > frozenAt,
      5_000,
      20,
    );
    // A stop thaws a frozen child first, so it can drain.
    child.signal("SIGSTOP");
    expect((await child.stop(5_000)).signal).toBe("SIGTERM");
  });

  it("reports a command that cannot start as exited", async () => {
    const child = spawnChild({
      name: "nothing",
      command: { file: "/nonexistent/node", args: [], cwd: process.cwd() },
      env: {},
    });
    expect(child.pid).toBe(-1);
    expect(await child.exited).toEqual({ code: null, signal: null });
    expect(child.isAlive()).toBe(false);
  });
});

describe("freePort and waitFor", () => {
  it("freePort gives a port that can be bound", async () => {
    const port = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it("freePortRun gives a run of bindable ports below the range outgoing connections take", async () => {
    const ephemeralStart = Number(
      readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
    );
    const first = await freePortRun(4);
    expect(first + 3).toBeLessThan(ephemeralStart);
    const servers = Array.from({ length: 4 }, () => net.createServer());
    await Promise.all(
      servers.map(
        (server, i) =>
          new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(first + i, "127.0.0.1", () => resolve());
          }),
      ),
    );
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it("withTimeout answers the promise in time, else rejects naming what was slow or with the caller's error", async () => {
    expect(await withTimeout(Promise.resolve(7), 1_000, "a quick thing")).toBe(7);
    await expect(withTimeout(sleep(200), 20, "a slow thing")).rejects.toThrow("a slow thing took longer than 20 ms");
    class Late extends Error {}
    await expect(withTimeout(sleep(200), 20, () => new Late("late"))).rejects.toBeInstanceOf(Late);
  });

  it("waitFor returns the first value that holds, and names what it waited for when none does", async () => {
    let n = 0;
    expect(
      await waitFor(
        "n to reach 3",
        () => ++n,
        (v) => v >= 3,
        5_000,
        1,
      ),
    ).toBe(3);
    await expect(
      waitFor(
        "the impossible",
        () => "nope",
        () => false,
        100,
        10,
      ),
    ).rejects.toThrow(/timed out after 100 ms waiting for the impossible \(last: "nope"\)/);
    await expect(
      waitFor(
        "a probe that fails",
        () => Promise.reject(new Error("refused")),
        () => true,
        1_000,
      ),
    ).rejects.toThrow("refused");
  });
});
