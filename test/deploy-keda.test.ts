/**
 * KEDA's ScaledObjects under deploy/keda/: one per worker Deployment, with the
 * autoscaler's replica limits and cool-down, reading the metric the autoscaler exports
 * (Prometheus) or the wait list BullMQ writes (Redis).
 */
import { QueueKeys } from "bullmq";
import { describe, expect, it } from "vitest";
import type { IScaledObject, ITriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { QUEUE_NAMES, keyspace, loadAutoscalerConfig, type QueueName } from "@oms/shared";
import { parseWorkerLimits } from "../apps/workers/src/autoscale/decision";
import { createAutoscaleMetrics } from "../apps/workers/src/autoscale/metrics";
import type { Loaded } from "./support/k8s-schema";
import { container, environment } from "./support/deploy-containers";
import { deployment, kedaPrometheus, kedaRedis, ofKind, QUEUES, settings } from "./support/deploy-manifests";

describe("KEDA scales each worker Deployment on the autoscaler's measurements", () => {
  const exporter = loadAutoscalerConfig(environment(container(deployment("oms-queue-metrics"))));
  const limits = parseWorkerLimits(exporter.AUTOSCALE_WORKERS);
  const metricNames = new Set(
    createAutoscaleMetrics()
      .registry.getMetricsAsArray()
      .map((m) => m.name),
  );

  function scaledObjects(docs: Loaded[]): IScaledObject[] {
    const found = ofKind<IScaledObject>(docs, "ScaledObject");
    // One ScaledObject per Deployment, each naming one that exists.
    expect(found.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(QUEUES.map((q) => `oms-workers-${q}`).sort());
    return found;
  }

  function forQueue(objects: IScaledObject[], queue: QueueName): IScaledObject {
    const so = objects.find((s) => s.spec.scaleTargetRef.name === `oms-workers-${queue}`);
    if (!so) throw new Error(`no ScaledObject for ${queue}`);
    return so;
  }

  function expectPolicy(so: IScaledObject, queue: QueueName): void {
    const l = limits.get(queue);
    expect(so.spec.minReplicaCount).toBe(l?.min);
    expect(so.spec.maxReplicaCount).toBe(l?.max);
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    // Shrinking waits out the same cool-down as on one machine.
    const behavior = so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
    expect(behavior?.scaleDown?.stabilizationWindowSeconds).toBe(Number(settings.AUTOSCALE_COOLDOWN_MS) / 1000);
    expect(behavior?.scaleUp?.stabilizationWindowSeconds).toBe(0);
  }

  it.each(QUEUES)("Prometheus: the %s workers scale on oms_queue_backlog and the oldest wait", (queue) => {
    const so = forQueue(scaledObjects(kedaPrometheus), queue);
    expectPolicy(so, queue);
    const byName = new Map(so.spec.triggers.map((t) => [t.name, t]));
    const backlog = byName.get("backlog");
    expect(backlog?.type).toBe("prometheus");
    expect(backlog?.metricType).toBe("AverageValue");
    expect(backlog?.metadata.query).toBe(`max(oms_queue_backlog{queue="${queue}"})`);
    expect(Number(backlog?.metadata.threshold)).toBe(Number(settings.AUTOSCALE_TARGET_BACKLOG));
    const wait = byName.get("oldest-wait");
    expect(wait?.metadata.query).toBe(`max(oms_queue_oldest_wait_seconds{queue="${queue}"})`);
    expect(Number(wait?.metadata.threshold)).toBe(Number(settings.AUTOSCALE_MAX_WAIT_MS) / 1000);
    // The series exist: the autoscaler (oms-queue-metrics) exports them.
    for (const trigger of so.spec.triggers) {
      const metric = /^max\((\w+)\{/.exec(trigger.metadata.query ?? "")?.[1];
      expect(metric && metricNames.has(metric), trigger.metadata.query).toBe(true);
      expect(trigger.metadata.serverAddress).toMatch(/^https?:\/\//);
    }
  });

  // KEDA's admission webhook refuses a ScaledObject whose spec.fallback is set while any
  // of its triggers has metricType Value ("fallback is only supported for AverageValue");
  // the CRD schema alone accepts it, so the rule is checked here.
  it.each([
    ["prometheus", kedaPrometheus],
    ["redis", kedaRedis],
  ] as const)("%s: a ScaledObject with a fallback has only AverageValue triggers", (_name, docs) => {
    for (const so of scaledObjects(docs)) {
      if (!so.spec.fallback) continue;
      for (const trigger of so.spec.triggers)
        expect(
          trigger.metricType ?? "AverageValue",
          `${so.metadata?.name} trigger ${trigger.name ?? trigger.type}`,
        ).toBe("AverageValue");
    }
  });

  it.each(QUEUES)("Redis: the %s workers scale on the length of the queue's BullMQ wait list", (queue) => {
    const so = forQueue(scaledObjects(kedaRedis), queue);
    expectPolicy(so, queue);
    const [trigger, ...more] = so.spec.triggers;
    expect(more).toEqual([]);
    expect(trigger?.type).toBe("redis");
    const prefix = keyspace(settings.REDIS_PREFIX ?? "").queuePrefix(queue);
    const waitKey = new QueueKeys(prefix).toKey(QUEUE_NAMES[queue], "wait");
    expect(waitKey).toBe(`{${settings.REDIS_PREFIX}:${queue}}:${queue}:wait`);
    expect(trigger?.metadata.listName).toBe(waitKey);
    expect(Number(trigger?.metadata.listLength)).toBeGreaterThan(0);
    const auth = ofKind<ITriggerAuthentication>(kedaRedis, "TriggerAuthentication").map((t) => t.metadata?.name);
    expect(auth).toContain(trigger?.authenticationRef?.name);
  });
});
