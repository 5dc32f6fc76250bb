/**
 * The manifests under deploy/ agree with the code: the settings are valid config, the
 * probes hit the routes that exist, each queue has its worker Deployment and PDB, and
 * every pod's grace period outlasts a worker's drain. Every container runs node on a
 * file `npm run build` writes, under the image's init, as a non-root user, and the
 * migration is a Job of its own.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  SETTING_NAMES,
  loadApiConfig,
  loadAutoscalerConfig,
  loadBaseConfig,
  loadDemoConfig,
  loadWorkerConfig,
} from "@oms/shared";
import { parseWorkerLimits } from "../apps/workers/src/autoscale/decision";
import {
  BUILT,
  container,
  entryFile,
  environment,
  envOf,
  loadConfigOf,
  matches,
  podTemplates,
  portNumber,
} from "./support/deploy-containers";
import { ROOT } from "./support/k8s-schema";
import { deployment, deployments, jobs, pdbs, QUEUES, services, settings } from "./support/deploy-manifests";

describe("the manifests agree with the code", () => {
  it("every setting is a known, valid config value, in every container", () => {
    const known = new Set(SETTING_NAMES);
    expect(Object.keys(settings).filter((k) => !known.has(k))).toEqual([]);
    expect(deployments.length).toBe(5);
    for (const d of deployments) {
      const c = container(d);
      expect(
        Object.keys(envOf(c)).filter((k) => !known.has(k)),
        d.metadata?.name,
      ).toEqual([]);
      expect(() => loadConfigOf(c), d.metadata?.name).not.toThrow();
      expect(c.image).toBe(container(deployment("oms-api")).image);
    }
  });

  it("every container runs node on a built file, under the image's init, as a non-root user", () => {
    expect(podTemplates.length).toBe(deployments.length + 1);
    for (const { name, spec } of podTemplates) {
      expect(spec?.securityContext?.runAsNonRoot, name).toBe(true);
      expect(spec?.securityContext?.runAsUser, name).toBeGreaterThan(0);
      for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
        expect(BUILT.has(entryFile(c)), `${name}/${c.name}`).toBe(true);
        expect(JSON.stringify(c.args), `${name}/${c.name}`).not.toMatch(/tsx|\.ts"/);
        expect(c.securityContext?.allowPrivilegeEscalation, `${name}/${c.name}`).toBe(false);
      }
    }
    // The image's entrypoint is that init, and its default command a built file too.
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini"/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it("migrations are a Job of their own: node dist/migrate.js, once, with the same image and settings", () => {
    expect(jobs.map((j) => j.metadata?.name)).toEqual(["oms-migrate"]);
    const [job] = jobs;
    const [c, ...others] = job?.spec?.template.spec?.containers ?? [];
    if (!c) throw new Error("the migrate Job has no container");
    expect(others).toEqual([]);
    expect(entryFile(c)).toBe("dist/migrate.js");
    expect(c.image).toBe(container(deployment("oms-api")).image);
    expect(() => loadBaseConfig(environment(c))).not.toThrow();
    expect(job?.spec?.template.spec?.restartPolicy).toBe("Never");
    expect(job?.spec?.backoffLimit).toBeGreaterThan(0);
    // Its pods are nobody's Service or PDB target.
    for (const selector of [
      ...services.map((x) => x.spec?.selector),
      ...pdbs.map((p) => p.spec?.selector?.matchLabels),
    ]) {
      expect(matches(selector, job?.spec?.template.metadata?.labels)).toBe(false);
    }
    // No process that serves migrates, and nothing seeds in the cluster.
    for (const d of deployments) expect(entryFile(container(d)), d.metadata?.name).not.toMatch(/migrate|seed|start/);
    expect(loadDemoConfig(environment(c)).SEED_ON_START).toBe(false);
  });

  it("the API: its port, probes on /healthz and /readyz, a Service and replicas to spare", () => {
    const api = deployment("oms-api");
    const c = container(api);
    const config = loadApiConfig(environment(c));
    expect(entryFile(c)).toBe("dist/api.js");
    expect(portNumber(c, "http")).toBe(config.PORT);
    expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(c.startupProbe?.httpGet?.path).toBe("/healthz");
    expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      expect(portNumber(c, probe?.httpGet?.port)).toBe(config.PORT);
    }
    expect(api.spec?.replicas).toBeGreaterThanOrEqual(2);

    const service = services.find((s) => s.metadata?.name === "oms-api");
    expect(matches(service?.spec?.selector, api.spec?.template.metadata?.labels)).toBe(true);
    expect(matches(service?.spec?.selector, deployment("oms-workers-checkout").spec?.template.metadata?.labels)).toBe(
      false,
    );
    for (const port of service?.spec?.ports ?? []) expect(portNumber(c, port.targetPort)).toBe(config.PORT);
  });

  it.each(QUEUES)("the %s queue has its own worker Deployment with probes, scaled by KEDA only", (queue) => {
    const d = deployment(`oms-workers-${queue}`);
    const c = container(d);
    const config = loadWorkerConfig(environment(c));
    expect(entryFile(c)).toBe("dist/workers.js");
    expect(config.WORKER_QUEUES).toEqual([queue]);
    expect(config.METRICS_PORT).toBeGreaterThan(0);
    expect(portNumber(c, "metrics")).toBe(config.METRICS_PORT);
    expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      expect(portNumber(c, probe?.httpGet?.port)).toBe(config.METRICS_PORT);
    }
    // The HPA owns the replica count; a fixed one would be reset on every apply.
    expect(d.spec?.replicas).toBeUndefined();
    // Its pods are told apart from the other queues' (selectors, PDBs, ScaledObjects).
    for (const other of QUEUES.filter((q) => q !== queue)) {
      expect(
        matches(d.spec?.selector.matchLabels, deployment(`oms-workers-${other}`).spec?.template.metadata?.labels),
      ).toBe(false);
    }
  });

  it("every Deployment selects its own pods, and every container requests CPU and memory", () => {
    for (const d of deployments) {
      expect(matches(d.spec?.selector.matchLabels, d.spec?.template.metadata?.labels), d.metadata?.name).toBe(true);
      const { resources } = container(d);
      expect(resources?.requests?.cpu, d.metadata?.name).toBeDefined();
      expect(resources?.requests?.memory, d.metadata?.name).toBeDefined();
      expect(resources?.limits?.memory, d.metadata?.name).toBeDefined();
    }
  });

  it("every pod's grace period outlasts its drain (SHUTDOWN_GRACE_MS, plus any preStop sleep)", () => {
    for (const name of ["oms-api", ...QUEUES.map((q) => `oms-workers-${q}`)]) {
      const d = deployment(name);
      const c = container(d);
      const drainSeconds = loadBaseConfig(environment(c)).SHUTDOWN_GRACE_MS / 1000;
      const sleep = c.lifecycle?.preStop?.exec?.command;
      const preStopSeconds = sleep?.[0] === "sleep" ? Number(sleep[1]) : 0;
      expect(d.spec?.template.spec?.terminationGracePeriodSeconds, name).toBeGreaterThanOrEqual(
        drainSeconds + preStopSeconds + 5,
      );
    }
  });

  it("a PodDisruptionBudget covers the API and each worker Deployment", () => {
    for (const name of ["oms-api", ...QUEUES.map((q) => `oms-workers-${q}`)]) {
      const labels = deployment(name).spec?.template.metadata?.labels;
      const covering = pdbs.filter((p) => matches(p.spec?.selector?.matchLabels, labels));
      expect(covering.length, name).toBe(1);
      const [pdb] = covering;
      // The API keeps a replica through voluntary disruptions; workers go one at a time.
      if (name === "oms-api") expect(pdb?.spec?.minAvailable).toBe(1);
      else expect(pdb?.spec?.maxUnavailable).toBe(1);
    }
  });

  it("the queue-metrics exporter is the autoscaler, observing only, with probes and a Service", () => {
    const d = deployment("oms-queue-metrics");
    const c = container(d);
    const config = loadAutoscalerConfig(environment(c));
    expect(entryFile(c)).toBe("dist/autoscaler.js");
    expect(config.AUTOSCALE_OBSERVE_ONLY).toBe(true);
    expect([...parseWorkerLimits(config.AUTOSCALE_WORKERS).keys()].sort()).toEqual([...QUEUES].sort());
    expect(portNumber(c, "metrics")).toBe(config.AUTOSCALE_METRICS_PORT);
    expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
    const service = services.find((s) => s.metadata?.name === "oms-queue-metrics");
    expect(matches(service?.spec?.selector, d.spec?.template.metadata?.labels)).toBe(true);
    expect(d.spec?.template.metadata?.annotations?.["prometheus.io/port"]).toBe(String(config.AUTOSCALE_METRICS_PORT));
  });
});
