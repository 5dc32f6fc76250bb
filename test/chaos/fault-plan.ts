/** When each fault of a chaos run strikes, drawn from the run's seed before the load starts. */
import type { CutMode } from "./infra";
import type { Random } from "./prng";
import { redisFaultSpanMs, type ChaosRedis, type RedisFault } from "./redis-faults";
import type { Shape } from "./shape";

export type Fault =
  | { kind: "kill_worker"; atMs: number; slot: number }
  | RedisFault
  | { kind: "mysql_cut"; atMs: number; durationMs: number; mode: CutMode }
  | { kind: "mysql_crash"; atMs: number; downMs: number }
  | { kind: "freeze_worker"; atMs: number; slot: number; frozenMs: number; endWith: "SIGCONT" | "SIGKILL" }
  | { kind: "kill_autoscaler"; atMs: number; downMs: number }
  | { kind: "redeliver"; atMs: number; count: number }
  | { kind: "restock"; atMs: number; productId: string; add: number };

export interface PlanContext {
  /** The run's Redis: it turns each planned outage into its own faults. */
  redis: ChaosRedis | undefined;
  /** The run has a MariaDB server of its own to crash. */
  mysqlCrashes: boolean;
  workers: number;
  /** The product the one admin restock of the run adds to. */
  restockProduct: string;
}

export function planFaults(shape: Shape, seed: Random, context: PlanContext): Fault[] {
  const rng = seed.fork("faults");
  const w = shape.loadWindowMs;
  const faults: Fault[] = [];
  for (let i = 0; i < shape.randomKills; i++)
    faults.push({
      kind: "kill_worker",
      atMs: rng.int(Math.floor(w * shape.killWindow[0]), Math.floor(w * shape.killWindow[1])),
      slot: rng.int(0, context.workers - 1),
    });
  // The same draws in both modes, so a seed's other faults do not depend on the mode; a
  // cluster picks its victims from a stream of its own.
  const redisRng = seed.fork("redis-cluster");
  for (let i = 0; i < shape.redisRestarts; i++) {
    const atMs = rng.int(Math.floor(w * shape.redisWindow[0]), Math.floor(w * shape.redisWindow[1]));
    const downMs = rng.int(300, 1_500);
    faults.push(...(context.redis?.plan(atMs, downMs, redisRng) ?? []));
  }
  for (let i = 0; i < shape.dbCuts; i++)
    faults.push({
      kind: "mysql_cut",
      atMs: rng.int(Math.floor(w * 0.15), Math.floor(w * 0.9)),
      durationMs: rng.int(2_000, 4_000),
      mode: rng.pick(["refuse", "blackhole"] as const),
    });
  for (let i = 0; i < shape.freezes; i++)
    faults.push({
      kind: "freeze_worker",
      atMs: rng.int(Math.floor(w * 0.2), Math.floor(w * 0.7)),
      slot: rng.int(0, context.workers - 1),
      // Past the lock (5 s) plus two stalled checks (2 x 2.5 s): its jobs must be back by then.
      // Past the job lock (5 s) plus three stalled checks (2.5 s each): BullMQ marks a job
      // stalled on one check and moves it on the next, and a worker respawned during the
      // freeze runs its first check only one interval after it starts.
      frozenMs: rng.int(14_000, 16_000),
      endWith: rng.chance(0.3) ? "SIGKILL" : "SIGCONT",
    });
  // A stream of its own, so adding this fault left every other fault of a seed as it was.
  const autoscalerRng = seed.fork("autoscaler");
  for (let i = 0; i < shape.autoscalerKills; i++)
    faults.push({
      kind: "kill_autoscaler",
      atMs: autoscalerRng.int(Math.floor(w * shape.killWindow[0]), Math.floor(w * shape.killWindow[1])),
      downMs: autoscalerRng.int(500, 3_000),
    });
  if (context.mysqlCrashes)
    for (let i = 0; i < shape.mysqlCrashes; i++)
      faults.push({
        kind: "mysql_crash",
        atMs: rng.int(Math.floor(w * 0.2), Math.floor(w * 0.7)),
        downMs: rng.int(shape.crashDownMs[0], shape.crashDownMs[1]),
      });
  for (let i = 0; i < shape.redeliveryBatches; i++)
    faults.push({
      kind: "redeliver",
      atMs: rng.int(Math.floor(w * 0.4), w + 3_000),
      count: shape.redeliveriesPerBatch,
    });

  // The restock is the one admin write of the run: keep it clear of Redis restarts and
  // MySQL cuts, whose answers would leave unknown whether it applied.
  const blocked = faults.flatMap((f) =>
    f.kind === "redis_restart" || f.kind === "redis_primary_kill" || f.kind === "redis_node_empty"
      ? [[f.atMs - 2_000, f.atMs + redisFaultSpanMs(f) + 4_000]]
      : f.kind === "mysql_cut"
        ? [[f.atMs - 2_000, f.atMs + f.durationMs + 4_000]]
        : f.kind === "mysql_crash"
          ? [[f.atMs - 2_000, f.atMs + f.downMs + 4_000]]
          : [],
  );
  let restockAt = w + 6_000;
  for (let i = 0; i < 50; i++) {
    const t = rng.int(Math.floor(w * 0.3), Math.floor(w * 0.8));
    if (blocked.every(([from = 0, to = 0]) => t < from || t > to)) {
      restockAt = t;
      break;
    }
  }
  faults.push({ kind: "restock", atMs: restockAt, productId: context.restockProduct, add: shape.restockAdd });
  return faults.sort((a, b) => a.atMs - b.atMs);
}
