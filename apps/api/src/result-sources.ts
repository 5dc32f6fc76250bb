import { QueueEvents } from "bullmq";
import {
  logFailure,
  JobReply,
  QUEUE_NAMES,
  type Keyspace,
  type Logger,
  type RedisClient,
  errorMessage,
} from "@oms/shared";
import type { JobResults } from "./job-results";

export interface ResultSource {
  close(): Promise<void>;
}

/**
 * This API process's reply key: workers push each job's result to the key named in the
 * job, so a process reads only its own results and the cost per request does not grow
 * with the number of API processes. One blocking pop drains up to 100 replies.
 */
export function listenForReplies(
  connection: RedisClient,
  replyKey: string,
  results: Record<"cart" | "checkout", JobResults>,
  logger: Logger,
): ResultSource {
  let running = true;
  const deliver = (raw: string) => {
    const parsed = JobReply.safeParse(safeJson(raw));
    if (!parsed.success) return logger.warn({ replyKey }, "unreadable job reply dropped");
    const reply = parsed.data;
    results[reply.queue].settle(
      reply.jobId,
      reply.ok
        ? { kind: "completed", value: reply.value }
        : { kind: "failed", reason: reply.reason ?? "failed", code: reply.code },
    );
  };
  const loop = async () => {
    while (running) {
      try {
        const popped = await connection.blpop(replyKey, 1);
        if (!popped) continue;
        deliver(popped[1]);
        const more = await connection.lpop(replyKey, 100);
        for (const raw of more ?? []) deliver(raw);
      } catch (err) {
        if (!running) return;
        logger.warn({ err: errorMessage(err) }, "reply key read failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  void loop();
  return {
    async close() {
      running = false;
      connection.disconnect();
    },
  };
}

/**
 * The shared-stream alternative (ApiWiring.resultPath "events"): every API process reads every
 * job's completion event from BullMQ's event stream. Kept so the two can be compared.
 */
export async function listenToQueueEvents(
  connection: RedisClient,
  keys: Pick<Keyspace, "queuePrefix">,
  results: Record<"cart" | "checkout", JobResults>,
  logger: Logger,
): Promise<ResultSource> {
  const events = (["cart", "checkout"] as const).map((name) => {
    const e = new QueueEvents(QUEUE_NAMES[name], { connection, prefix: keys.queuePrefix(name) });
    e.on("error", (err) => logger.warn({ err: err.message }, "queue events error"));
    e.on("completed", ({ jobId, returnvalue }) =>
      results[name].settle(jobId, { kind: "completed", value: returnvalue }),
    );
    e.on("failed", ({ jobId, failedReason }) => results[name].settle(jobId, { kind: "failed", reason: failedReason }));
    return e;
  });
  // Results are read from the moment the stream is read; wait for that, but a Redis that
  // is down must not stop the API from starting and answering 503.
  await Promise.race([
    Promise.all(events.map((e) => e.waitUntilReady())),
    new Promise((r) => setTimeout(r, 3_000).unref()),
  ]);
  return {
    async close() {
      await Promise.race([
        // Shutting down: a stream whose Redis is gone has nothing left to close.
        Promise.all(events.map((e) => e.close().catch(logFailure(logger, "reply stream not closed", "debug")))),
        new Promise((r) => setTimeout(r, 2_000).unref()),
      ]);
      connection.disconnect();
    },
  };
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    // null fails the schema, and the caller logs the dropped reply.
    return null;
  }
}
