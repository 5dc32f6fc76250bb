/**
 * Graceful shutdown of the API and worker processes on SIGTERM, against the real Redis and
 * MariaDB: the API finishes its in-flight checkout and refuses new connections, a worker
 * drains, both exit 0; a job that outlasts SHUTDOWN_GRACE_MS is handed back in time.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, freePort, waitFor } from "@oms/shared";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { configToEnv, postJson, spawnWorkerProcess, type WorkerProcess } from "../../../test/support/system";
import { logRecords, spawnChild, tryConnect, type Child } from "./support/child-processes";
import { cleanups, setUpHealthSystem, sleep, uid } from "./support/health-system";

setUpHealthSystem();
// ---------------------------------------------------------------- graceful shutdown

describe("graceful shutdown", () => {
  /** Own database and key prefix: the in-process workers above must not take these jobs. */
  let shutdownEnv: TestEnv;

  let apiProc: Child & { port: number };
  let worker: WorkerProcess;

  beforeAll(async () => {
    shutdownEnv = await createTestEnv({ PAYMENT_SIM_LATENCY_MS: "1500", SHUTDOWN_GRACE_MS: "10000" });
    [apiProc, worker] = await Promise.all([spawnApi(), spawnWorkerProcess(shutdownEnv)]);
    cleanups.push(() => worker.stop("SIGKILL"));
  });
  afterAll(async () => {
    await shutdownEnv?.close();
  });

  async function spawnApi(): Promise<Child & { port: number }> {
    const port = await freePort();
    const proc = spawnChild(process.execPath, ["--import", "tsx", "apps/api/src/main.ts"], {
      ...(process.env as Record<string, string>),
      ...configToEnv(shutdownEnv.config),
      LOG_LEVEL: "info",
      PORT: String(port),
      CHECKOUT_TIMEOUT_MS: "20000",
    });
    await waitFor(
      "the API process answers /healthz",
      async () => {
        const code = proc.child.exitCode;
        if (code !== null) throw new Error(`API process exited with ${code}:\n${proc.lines.join("\n")}`);
        return fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      (ok) => ok,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${proc.lines.join("\n")}`);
    });
    return { ...proc, port };
  }

  async function activeCheckouts(): Promise<number> {
    return shutdownEnv.redis.llen(`${shutdownEnv.keys.queuePrefix("checkout")}:checkout:active`);
  }

  it("on SIGTERM the API finishes the in-flight checkout, refuses new connections and exits 0; the worker drains and exits 0", async () => {
    const workerLines: string[] = [];
    worker.child.stdout?.on("data", (c: Buffer) => workerLines.push(...c.toString().split("\n").filter(Boolean)));
    const url = `http://127.0.0.1:${apiProc.port}`;

    const clientID = uid("c");
    const productID = uid("p");
    await insertProducts(shutdownEnv.db, [{ id: productID, quantity: 5, priceCents: 700 }]);
    expect((await postJson(`${url}/addToCart`, { clientID, productID, quantity: 2 })).status).toBe(200);

    const requestId = `req-shutdown-${randomUUID()}`;
    const inFlight = postJson(`${url}/checkOutCart`, { clientID }, { "x-request-id": requestId });
    // The payment takes 1.5 s: signal both processes while the checkout is being worked on.
    await waitFor("the checkout job is active", activeCheckouts, (n) => n === 1, 10_000);
    apiProc.child.kill("SIGTERM");
    worker.child.kill("SIGTERM");
    await sleep(200);
    expect(await tryConnect(apiProc.port)).toBe("ECONNREFUSED");

    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "Success", state: "completed", totalCents: 1400 });
    expect(answer.headers.get("x-request-id")).toBe(requestId);

    const bounded = (p: Promise<number | null>) =>
      Promise.race([p, sleep(15_000).then(() => "still running after 15 s")]);
    expect(await bounded(apiProc.exited)).toBe(0);
    expect(await bounded(worker.exited)).toBe(0);
    expect(logRecords(apiProc.lines).some((r) => r.signal === "SIGTERM")).toBe(true);

    // The worker's structured log of that order carries the request's id.
    const completed = logRecords(workerLines).find((r) => r.msg === "order completed");
    expect(completed).toMatchObject({ requestId, clientId: clientID, orderId: answer.body.orderId });
    const order = (await shutdownEnv.db("orders").where({ order_id: answer.body.orderId }).first()) as {
      state: string;
    };
    expect(order.state).toBe("completed");
  });

  it("a worker whose job outlasts SHUTDOWN_GRACE_MS hands it back and exits within the bound", async () => {
    const grace = 1_000;
    const slow: WorkerProcess = await spawnWorkerProcess(shutdownEnv, {
      WORKER_QUEUES: "checkout",
      PAYMENT_SIM_LATENCY_MS: "20000",
      SHUTDOWN_GRACE_MS: String(grace),
    });
    cleanups.push(() => slow.stop("SIGKILL"));
    const clientId = uid("c");
    const productId = uid("p");
    await insertProducts(shutdownEnv.db, [{ id: productId, quantity: 5, priceCents: 100 }]);
    await shutdownEnv.db("client_cart").insert({ client_id: clientId, product_id: productId, quantity: 1 });
    const queue = createQueue("checkout", shutdownEnv.redis, shutdownEnv.keys, shutdownEnv.config);
    cleanups.push(() => queue.close());
    const orderId = randomUUID();
    await queue.add("checkout", { type: "checkout", orderId, clientId, paymentToken: "tok_ok" }, { jobId: orderId });
    await waitFor("the slow checkout is active", activeCheckouts, (n) => n === 1, 10_000);

    // The payment takes 20 s; the worker may take the grace time plus a few seconds to close, no more.
    const bound = grace + 5_000;
    slow.child.kill("SIGTERM");
    const code = await Promise.race([
      slow.exited,
      sleep(bound).then(() => `still running ${bound} ms after SIGTERM (SHUTDOWN_GRACE_MS ${grace})`),
    ]);
    expect(code).toBe(0);
    // Not finished and not lost: still active under a lock that lapses, so another worker takes it.
    const job = await queue.getJob(orderId);
    expect(await job?.getState()).toBe("active");
    expect(job?.finishedOn).toBeUndefined();
  });
});
