/**
 * The one-machine autoscaler against the real Redis and real BullMQ queues, with real
 * worker processes (the slow fixture worker, which drains on SIGTERM like the real one).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Job } from "bullmq";
import type { DecisionEvent, WorkerExit } from "../src/autoscale/supervisor";
import { serveMetrics } from "../src/autoscale/metrics";
import { keyspace } from "@oms/shared";
import {
  metricValue,
  startHarness,
  statusOf,
  waitFor,
  type Harness,
  type SlowJobResult,
} from "./fixtures/autoscale-support";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Jobs `name-0` .. `name-(n-1)`, each sleeping `ms` in the worker. */
async function addJobs(h: Harness, name: string, n: number, ms: number): Promise<void> {
  await h.queue.addBulk(
    Array.from({ length: n }, (_, i) => ({ name, data: { ms }, opts: { jobId: `${name}-${i}`, attempts: 1 } })),
  );
}

async function counts(h: Harness) {
  return h.queue.getJobCounts("wait", "prioritized", "delayed", "active", "completed", "failed");
}

async function pendingJobs(h: Harness): Promise<number> {
  const c = await counts(h);
  return (c.wait ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) + (c.active ?? 0);
}

/** job id -> how many times a worker started it. */
async function starts(h: Harness): Promise<Map<string, number>> {
  const raw = await h.redis.hgetall(`${keyspace(h.prefix).queuePrefix("checkout")}:fixture:starts`);
  return new Map(Object.entries(raw).map(([id, n]) => [id, Number(n)]));
}

async function completedJobs(h: Harness): Promise<Array<Job<{ ms: number }, SlowJobResult>>> {
  return h.queue.getJobs(["completed"], 0, -1, true) as Promise<Array<Job<{ ms: number }, SlowJobResult>>>;
}

describe("the autoscaler supervisor", () => {
  it("absorbs a burst of slow jobs: grows to the maximum, drains the backlog, shrinks to the minimum after the cool-down", async () => {
    const JOBS = 240;
    const JOB_MS = 400;
    const COOLDOWN_MS = 1_500;
    const h = (harness = startHarness({
      limits: { min: 1, max: 4 },
      policy: { targetBacklog: 10, maxWaitMs: 1_000, cooldownMs: COOLDOWN_MS },
      fixtureEnv: { FIXTURE_CONCURRENCY: "2" },
    }));
    expect(h.queue.opts.prefix).toBe(keyspace(h.prefix).queuePrefix("checkout"));
    const server = await serveMetrics(h.metrics.registry, 0, () => h.supervisor.isHealthy(), "127.0.0.1");
    const scrape = async () => (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const decisions: Array<DecisionEvent & { at: number }> = [];
    const exits: WorkerExit[] = [];
    h.supervisor.on("decision", (e) => decisions.push({ ...e, at: Date.now() }));
    h.supervisor.on("exit", (e) => exits.push(e));
    try {
      await waitFor("the minimum, one worker, consuming", () => statusOf(h.supervisor).ready === 1, 30_000);
      expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);

      const startedAt = Date.now();
      await addJobs(h, "burst", JOBS, JOB_MS);
      // The metrics while four processes consume.
      let during = "";
      await waitFor(
        "four workers consuming",
        async () => {
          if (statusOf(h.supervisor).ready !== 4) return false;
          during = await scrape();
          return true;
        },
        40_000,
      );
      const peakAt = Date.now();
      expect(metricValue(during, "oms_autoscale_desired_workers", { queue: "checkout" })).toBe(4);
      expect(metricValue(during, "oms_autoscale_running_workers", { queue: "checkout" })).toBe(4);
      expect(metricValue(during, "oms_queue_backlog", { queue: "checkout" })).toBeGreaterThan(0);
      expect(metricValue(during, "oms_queue_oldest_wait_seconds", { queue: "checkout" })).toBeGreaterThan(0);

      await waitFor("the backlog drained", async () => (await pendingJobs(h)) === 0, 30_000);
      const drainedAt = Date.now();
      await waitFor("back to one worker", () => {
        const s = statusOf(h.supervisor);
        return s.running === 1 && s.retiring === 0;
      });
      await waitFor("the three extra processes exited", () => exits.length === 3);
      const settledAt = Date.now();

      // Never more than the maximum, and the maximum was reached.
      expect(Math.max(...h.samples.map((s) => s.status.running))).toBe(4);
      expect(Math.max(...h.samples.map((s) => s.status.ready))).toBe(4);
      expect(decisions.filter((d) => d.decision.action === "up").map((d) => d.decision.desired)).toContain(4);

      // Every scale-down waited a whole cool-down of lower need.
      const downs = decisions.filter((d) => d.decision.action === "down");
      expect(downs.length).toBeGreaterThanOrEqual(1);
      expect(downs.at(-1)?.decision.desired).toBe(1);
      for (const down of downs) {
        const window = decisions.filter((d) => d.at > down.at - COOLDOWN_MS + 150 && d.at < down.at);
        expect(window.length).toBeGreaterThan(0);
        for (const d of window) expect(d.decision.recommended).toBeLessThan(d.decision.state.desired);
      }

      // Every job done once, by the processes the burst brought.
      const c = await counts(h);
      expect(c).toMatchObject({ completed: JOBS, failed: 0, active: 0, wait: 0, delayed: 0 });
      const started = await starts(h);
      expect(started.size).toBe(JOBS);
      expect([...started.values()].every((n) => n === 1)).toBe(true);
      const pids = new Set((await completedJobs(h)).map((j) => j.returnvalue.pid));
      expect(pids.size).toBe(4);

      // The three extra processes drained and exited cleanly.
      expect(exits).toHaveLength(3);
      for (const exit of exits) expect(exit).toMatchObject({ retired: true, forced: false, code: 0 });

      const after = await scrape();
      expect(metricValue(after, "oms_autoscale_desired_workers", { queue: "checkout" })).toBe(1);
      expect(metricValue(after, "oms_autoscale_running_workers", { queue: "checkout" })).toBe(1);
      expect(metricValue(after, "oms_queue_backlog", { queue: "checkout" })).toBe(0);
      expect(metricValue(after, "oms_autoscale_decisions_total", { queue: "checkout", action: "up" })).toBeGreaterThan(
        0,
      );
      expect(metricValue(after, "oms_autoscale_decisions_total", { queue: "checkout", action: "down" })).toBe(
        downs.length,
      );

      console.log(
        `[autoscale burst] ${JSON.stringify({
          jobs: JOBS,
          jobMs: JOB_MS,
          concurrencyPerProcess: 2,
          peakWorkers: 4,
          timeToPeakMs: peakAt - startedAt,
          timeToDrainMs: drainedAt - startedAt,
          oneWorkerWouldTakeMs: (JOBS * JOB_MS) / 2,
          backToMinimumAfterDrainMs: settledAt - drainedAt,
          cooldownMs: COOLDOWN_MS,
        })}`,
      );
    } finally {
      await server.close();
    }
  });

  it("replaces a worker killed with SIGKILL, and the jobs it held run again", async () => {
    const h = (harness = startHarness({
      limits: { min: 2, max: 2 },
      policy: { targetBacklog: 100, maxWaitMs: 60_000, cooldownMs: 0 },
      fixtureEnv: { FIXTURE_CONCURRENCY: "2", FIXTURE_LOCK_MS: "1000" },
    }));
    const crashes: WorkerExit[] = [];
    h.supervisor.on("crash", (e) => crashes.push(e));
    await waitFor("two workers consuming", () => statusOf(h.supervisor).ready === 2, 30_000);

    await addJobs(h, "held", 6, 2_000);
    // Active in BullMQ is not yet started in the processor: a kill in between would leave
    // a job that never ran in the victim, and its runs would count one short.
    await waitFor(
      "both workers busy",
      async () => (await h.queue.getActiveCount()) === 4 && (await starts(h)).size === 4,
    );
    const [victim, survivor] = statusOf(h.supervisor).pids;
    if (victim === undefined || survivor === undefined) throw new Error("expected two workers");
    process.kill(victim, "SIGKILL");

    await waitFor(
      "a replacement consuming",
      () => {
        const s = statusOf(h.supervisor);
        return s.ready === 2 && !s.pids.includes(victim);
      },
      30_000,
    );
    expect(statusOf(h.supervisor).pids).toContain(survivor);
    expect(crashes).toEqual([expect.objectContaining({ pid: victim, signal: "SIGKILL", retired: false })]);

    // The two jobs the killed worker held come back when their locks lapse, and finish.
    await waitFor("every job finished", async () => (await counts(h)).completed === 6, 20_000);
    expect(await counts(h)).toMatchObject({ completed: 6, failed: 0, active: 0, wait: 0 });
    const started = await starts(h);
    expect([...started.values()].sort()).toEqual([1, 1, 1, 1, 2, 2]);
    expect((await h.metrics.replacements.get()).values).toEqual([
      expect.objectContaining({ labels: { queue: "checkout" }, value: 1 }),
    ]);
  });

  it("loses no job and leaves none active while it scales down busy workers", async () => {
    const JOBS = 24;
    const h = (harness = startHarness({
      limits: { min: 1, max: 3 },
      policy: { targetBacklog: 4, maxWaitMs: 60_000, cooldownMs: 700 },
      fixtureEnv: { FIXTURE_CONCURRENCY: "2" },
    }));
    const retiredAt = new Map<number, number>();
    const exits: WorkerExit[] = [];
    h.supervisor.on("retire", (e) => retiredAt.set(e.pid, Date.now()));
    h.supervisor.on("exit", (e) => exits.push(e));
    await waitFor("one worker consuming", () => statusOf(h.supervisor).ready === 1, 30_000);

    await addJobs(h, "drain", JOBS, 2_000);
    await waitFor("three workers consuming", () => statusOf(h.supervisor).ready === 3, 30_000);
    await waitFor(
      "back to one worker",
      () => {
        const s = statusOf(h.supervisor);
        return s.running === 1 && s.retiring === 0 && exits.length === 2;
      },
      40_000,
    );
    await waitFor("every job finished", async () => (await pendingJobs(h)) === 0, 20_000);

    // Both retired processes drained and exited by themselves.
    for (const exit of exits) expect(exit).toMatchObject({ retired: true, forced: false, code: 0, signal: null });
    // They were retired while busy: jobs they held finished after their SIGTERM.
    const done = await completedJobs(h);
    const finishedWhileRetiring = done.filter((j) => {
      const at = retiredAt.get(j.returnvalue.pid);
      return at !== undefined && j.returnvalue.finishedAt > at;
    });
    expect(finishedWhileRetiring.length).toBeGreaterThan(0);

    // Nothing lost, nothing stuck, nothing run twice.
    expect(await counts(h)).toMatchObject({
      completed: JOBS,
      failed: 0,
      active: 0,
      wait: 0,
      delayed: 0,
      prioritized: 0,
    });
    const started = await starts(h);
    expect(started.size).toBe(JOBS);
    expect([...started.values()].every((n) => n === 1)).toBe(true);
    expect(done.map((j) => j.id).sort()).toEqual(Array.from({ length: JOBS }, (_, i) => `drain-${i}`).sort());
  });

  it("kills a retiring worker that does not exit in time, and its job runs again elsewhere", async () => {
    const h = (harness = startHarness({
      limits: { min: 1, max: 2 },
      policy: { targetBacklog: 2, maxWaitMs: 60_000, cooldownMs: 300 },
      retireTimeoutMs: 1_000,
      fixtureEnv: { FIXTURE_CONCURRENCY: "1", FIXTURE_LOCK_MS: "1000", FIXTURE_IGNORE_SIGTERM: "1" },
    }));
    const exits: WorkerExit[] = [];
    h.supervisor.on("exit", (e) => exits.push(e));
    await waitFor("one worker consuming", () => statusOf(h.supervisor).ready === 1, 30_000);

    // Two long jobs keep both workers busy; a third waits and asks for the second worker.
    await addJobs(h, "stuck", 3, 6_000);
    await waitFor("two workers consuming", () => statusOf(h.supervisor).ready === 2, 30_000);
    await waitFor(
      "both workers busy",
      async () => (await h.queue.getActiveCount()) === 2 && (await starts(h)).size === 2,
      30_000,
    );
    const [, newest] = statusOf(h.supervisor).pids;
    // The waiting job goes away: one worker is enough, and the newest, busy one retires.
    await h.queue.remove("stuck-2");
    await waitFor("the extra worker killed", () => exits.length === 1, 20_000);
    expect(exits[0]).toMatchObject({ pid: newest, retired: true, forced: true, signal: "SIGKILL" });

    // Its job comes back when the lock lapses and the remaining worker runs it.
    await waitFor("both jobs finished", async () => (await counts(h)).completed === 2, 30_000);
    expect(await counts(h)).toMatchObject({ completed: 2, failed: 0, active: 0, wait: 0 });
    const started = await starts(h);
    expect([...started.values()].sort()).toEqual([1, 2]);
    const done = await completedJobs(h);
    expect(new Set(done.map((j) => j.returnvalue.pid))).toEqual(new Set(statusOf(h.supervisor).pids));
    expect((await h.metrics.forcedKills.get()).values[0]?.value).toBe(1);
  });
});
