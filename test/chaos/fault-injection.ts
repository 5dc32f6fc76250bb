/**
 * Plays a chaos run's fault schedule: each planned fault at its time from the start of
 * the load, handed to what carries it out (Redis's own deployment, MySQL's proxy or
 * server, the worker faults, a re-delivery, an admin restock).
 */
import { errorMessage } from "@oms/shared";
import { HOT, RESTOCK, type Catalog } from "./catalog";
import { planFaults, type Fault } from "./fault-plan";
import { sleep } from "./infra";
import type { CheckResult } from "./invariants";
import type { Random } from "./prng";
import type { Redelivery } from "./redelivery";
import type { FaultContext } from "./redis-faults";
import type { Shape } from "./shape";
import type { ChaosSystem } from "./system";
import type { Timeline } from "./timeline";
import { WORKERS } from "./worker-pool";
import type { WorkerFaults } from "./worker-faults";

export class FaultInjector {
  constructor(
    private readonly system: ChaosSystem,
    private readonly timeline: Timeline,
    private readonly workers: WorkerFaults,
    private readonly redelivery: Redelivery,
    private readonly catalog: Catalog,
  ) {}

  /** The run's faults, drawn from its seed before the load starts. */
  plan(shape: Shape, rng: Random): Fault[] {
    return planFaults(shape, rng, {
      redis: this.system.redisDeployment,
      mysqlCrashes: Boolean(this.system.mysqlServer),
      workers: WORKERS,
      restockProduct: RESTOCK,
    });
  }

  /** Injects each fault at its time after the load's start; one that fails is noted, not fatal. */
  async run(faults: Fault[]): Promise<void> {
    const start = this.timeline.loadStart;
    await Promise.all(
      faults.map(async (fault) => {
        await sleep(Math.max(0, start + fault.atMs - Date.now()));
        try {
          await this.inject(fault);
        } catch (err) {
          this.timeline.notes.push(
            `fault ${fault.kind} at ${fault.atMs} ms could not be injected: ${errorMessage(err)}`,
          );
        }
      }),
    );
  }

  /** The checks of the Redis deployment's own faults, once the system is quiet. */
  async redisChecks(): Promise<CheckResult[]> {
    return (await this.system.redisDeployment?.checks(this.faultContext())) ?? [];
  }

  private faultContext(): FaultContext {
    const { system, timeline } = this;
    return {
      keys: system.keys,
      hotKey: system.keys.stock(HOT),
      redis: () => system.redis(),
      event: (line) => timeline.event(line),
      count: (fault) => timeline.count(fault),
      faultOver: (kind, startMs) => timeline.faultOver(kind, startMs),
    };
  }

  private async inject(fault: Fault): Promise<void> {
    const { timeline } = this;
    switch (fault.kind) {
      case "kill_worker":
        await this.workers.kill(fault);
        return;
      case "redis_restart":
      case "redis_primary_kill":
      case "redis_node_empty":
        await this.system.redisDeployment?.inject(fault, this.faultContext());
        return;
      case "mysql_cut": {
        timeline.event(`MySQL cut (${fault.mode}) for ${fault.durationMs} ms`);
        timeline.count(`mysql_cut:${fault.mode}`);
        const start = Date.now();
        await this.system.proxy?.cut(fault.durationMs, fault.mode);
        timeline.faultOver("a MySQL cut", start);
        timeline.event("MySQL reachable again");
        return;
      }
      case "mysql_crash": {
        const server = this.system.mysqlServer;
        if (!server) return;
        timeline.event(`MariaDB SIGKILLed (pid ${server.pid}); down for ${fault.downMs} ms, then crash recovery`);
        const start = Date.now();
        await server.crash(fault.downMs);
        timeline.faultOver("a MySQL crash", start);
        timeline.count("mysql_crash");
        timeline.event(
          `MariaDB is back after crash recovery (pid ${server.pid}, ${Date.now() - start} ms after the kill)`,
        );
        return;
      }
      case "freeze_worker":
        await this.workers.freeze(fault);
        return;
      case "kill_autoscaler":
        await this.workers.killAutoscaler(fault);
        return;
      case "redeliver":
        await this.redelivery.redeliver(fault.count);
        return;
      case "restock":
        await this.catalog.restock(fault.productId, fault.add);
        return;
    }
  }
}
