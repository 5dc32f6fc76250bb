/**
 * The Kubernetes and KEDA manifests under deploy/: each document validates against the
 * Kubernetes 1.27 and KEDA schemas (kubernetes-models, offline), with no field the schema
 * does not know, and the manifests agree with the code: the settings are valid config,
 * the probes hit the routes that exist, each queue has its worker Deployment, PDB and
 * ScaledObject, KEDA reads the metric the autoscaler exports or the key BullMQ writes,
 * and every pod's grace period outlasts a worker's drain. Every container runs node on
 * a file `npm run build` writes, under the image's init, as a non-root user, and the
 * migration is a Job of its own.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { QueueKeys } from "bullmq";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1";
import { Job, type IJob } from "kubernetes-models/batch/v1";
import { ConfigMap, Namespace, Service, type IConfigMap, type IContainer, type IService } from "kubernetes-models/v1";
import { PodDisruptionBudget, type IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import {
  ScaledObject,
  TriggerAuthentication,
  type IScaledObject,
  type ITriggerAuthentication,
} from "@kubernetes-models/keda/keda.sh/v1alpha1";
import {
  ENTRIES,
  QUEUE_NAMES,
  SETTING_NAMES,
  keyspace,
  loadApiConfig,
  loadAutoscalerConfig,
  loadBaseConfig,
  loadDemoConfig,
  loadWorkerConfig,
  type QueueName,
} from "@oms/shared";
import { parseWorkerLimits } from "../apps/workers/src/autoscale/decision";
import { createAutoscaleMetrics } from "../apps/workers/src/autoscale/metrics";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEPLOY = join(ROOT, "deploy");
const QUEUES = Object.keys(QUEUE_NAMES) as QueueName[];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  [field: string]: unknown;
}

interface Loaded {
  file: string;
  doc: Manifest;
}

type Validatable = { validate(): void };
type ModelClass = new (data: Manifest) => Validatable;

/** The schemas a manifest may use: apiVersion/kind -> its kubernetes-models class. */
const MODELS: Record<string, ModelClass> = {
  "v1/Namespace": Namespace as unknown as ModelClass,
  "v1/ConfigMap": ConfigMap as unknown as ModelClass,
  "v1/Service": Service as unknown as ModelClass,
  "apps/v1/Deployment": Deployment as unknown as ModelClass,
  "batch/v1/Job": Job as unknown as ModelClass,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget as unknown as ModelClass,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject as unknown as ModelClass,
  "keda.sh/v1alpha1/TriggerAuthentication": TriggerAuthentication as unknown as ModelClass,
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

function load(dir: string): Loaded[] {
  return yamlFiles(dir).flatMap((path) => {
    const file = relative(ROOT, path);
    return parseAllDocuments(readFileSync(path, "utf8")).map((document, i) => {
      if (document.errors.length)
        throw new Error(`${file} #${i + 1}: ${document.errors.map((e) => e.message).join("; ")}`);
      const doc = document.toJS() as Manifest | null;
      if (!doc || typeof doc !== "object") throw new Error(`${file} #${i + 1}: an empty document`);
      return { file, doc };
    });
  });
}

/**
 * Validates against the schema, and also reports every field the schema does not know
 * (the generated validators accept unknown fields, so a typo such as `paht` would pass).
 * The validator reads every property its schema defines, present or not; an object it
 * read properties of must have no other keys. Free-form maps (labels, ConfigMap data)
 * are walked key by key by the validator, so all their keys count as read.
 */
export function validateStrict(doc: Manifest): string[] {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) return [`no schema for ${doc.apiVersion} ${doc.kind}`];
  const model = new Model(doc);
  const read = new WeakMap<object, Set<PropertyKey>>();
  const proxies = new WeakMap<object, object>();
  const track = <T extends object>(target: T): T => {
    const known = proxies.get(target);
    if (known) return known as T;
    const seen = new Set<PropertyKey>();
    read.set(target, seen);
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        seen.add(key);
        const value: unknown = Reflect.get(t, key, receiver);
        return value !== null && typeof value === "object" ? track(value) : value;
      },
      has(t, key) {
        seen.add(key);
        return Reflect.has(t, key);
      },
      getOwnPropertyDescriptor(t, key) {
        seen.add(key);
        return Reflect.getOwnPropertyDescriptor(t, key);
      },
    });
    proxies.set(target, proxy);
    return proxy;
  };
  const problems: string[] = [];
  try {
    model.validate.call(track(model));
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (value !== null && typeof value === "object") {
      const seen = read.get(value);
      for (const [key, child] of Object.entries(value)) {
        if (seen && seen.size > 0 && !seen.has(key)) problems.push(`${path}.${key}: no such field in the schema`);
        walk(child, `${path}.${key}`);
      }
    }
  };
  walk(model, doc.kind);
  return problems;
}

const all = load(DEPLOY);
const base = load(join(DEPLOY, "k8s"));
const kedaPrometheus = load(join(DEPLOY, "keda", "prometheus"));
const kedaRedis = load(join(DEPLOY, "keda", "redis"));

function ofKind<T>(docs: Loaded[], kind: string): T[] {
  return docs.filter((l) => l.doc.kind === kind).map((l) => l.doc as unknown as T);
}

const deployments = ofKind<IDeployment>(base, "Deployment");
const jobs = ofKind<IJob>(base, "Job");
const services = ofKind<IService>(base, "Service");
const pdbs = ofKind<IPodDisruptionBudget>(base, "PodDisruptionBudget");
const [configMap] = ofKind<IConfigMap>(base, "ConfigMap");
const settings: Record<string, string> = configMap?.data ?? {};

function deployment(name: string): IDeployment {
  const found = deployments.find((d) => d.metadata?.name === name);
  if (!found) throw new Error(`deploy/k8s has no Deployment ${name}`);
  return found;
}

function container(d: IDeployment): IContainer {
  const [first, ...rest] = d.spec?.template.spec?.containers ?? [];
  if (!first || rest.length) throw new Error(`${d.metadata?.name}: expected exactly one container`);
  return first;
}

function envOf(c: IContainer): Record<string, string> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? ""]));
}

/** The environment a container runs with: the ConfigMap, placeholder secrets, then its own env. */
function environment(c: IContainer): Record<string, string> {
  const fromConfigMap = (c.envFrom ?? []).some((e) => e.configMapRef?.name === "oms-config");
  const fromSecret = (c.envFrom ?? []).some((e) => e.secretRef?.name === "oms-secrets");
  return {
    ...(fromConfigMap ? settings : {}),
    ...(fromSecret
      ? {
          REDIS_URL: "redis://:secret@redis.oms.svc:6379",
          DATABASE_URL: "mysql://oms:secret@mysql.oms.svc:3306/orders",
        }
      : {}),
    ...envOf(c),
  };
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return (
    !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v)
  );
}

/** The container port a probe or Service names (by name or number). */
function portNumber(c: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return c.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** The bundles `npm run build` writes (packages/shared/src/entries.ts). */
const BUILT = new Set(Object.keys(ENTRIES).map((name) => `dist/${name}.js`));

/** The built file a container runs: `args` (node and a dist/ file), no `command`, so the image's tini stays PID 1. */
/** Parses a container's environment as the process it runs would (a built entry point's own settings). */
function loadConfigOf(c: IContainer): object {
  const loaders: Record<string, (env: Record<string, string>) => object> = {
    "dist/api.js": loadApiConfig,
    "dist/workers.js": loadWorkerConfig,
    "dist/autoscaler.js": loadAutoscalerConfig,
  };
  const load = loaders[entryFile(c)] ?? loadBaseConfig;
  return load(environment(c));
}

function entryFile(c: IContainer): string {
  if (c.command) throw new Error(`container ${c.name} sets command, replacing the image's init (tini)`);
  const [node, ...rest] = c.args ?? [];
  const files = rest.filter((arg) => !arg.startsWith("-"));
  if (node !== "node" || files.length !== 1 || !BUILT.has(files[0]!)) {
    throw new Error(`container ${c.name} does not run node on one built file: ${JSON.stringify(c.args)}`);
  }
  return files[0]!;
}

/** Every container of every pod template: the Deployments' and the Jobs'. */
const podTemplates = [...deployments, ...jobs].map((w) => ({
  name: w.metadata?.name ?? "",
  spec: w.spec?.template.spec,
}));

describe("the manifests parse and validate", () => {
  it("finds every manifest, each a non-empty YAML document", () => {
    const files = new Set(all.map((l) => l.file));
    expect([...files].sort()).toEqual([
      "deploy/k8s/api.yaml",
      "deploy/k8s/config.yaml",
      "deploy/k8s/migrate.yaml",
      "deploy/k8s/namespace.yaml",
      "deploy/k8s/queue-metrics.yaml",
      "deploy/k8s/workers.yaml",
      "deploy/keda/prometheus/scaledobjects.yaml",
      "deploy/keda/redis/scaledobjects.yaml",
      "deploy/redis-cluster/config.yaml",
    ]);
    // The Redis Cluster ConfigMap replaces the base one (test/deploy-redis-cluster.test.ts).
    expect(all.length).toBe(base.length + kedaPrometheus.length + kedaRedis.length + 1);
  });

  it.each(all.map((l) => [`${l.file}: ${l.doc.kind} ${l.doc.metadata?.name ?? ""}`, l.doc] as const))(
    "%s validates against its schema, with no unknown field",
    (_name, doc) => {
      expect(validateStrict(doc)).toEqual([]);
    },
  );

  it("the strict validation catches a typo, an unknown field and a wrong type", () => {
    const api = structuredClone(base.find((l) => l.doc.kind === "Deployment")?.doc);
    if (!api) throw new Error("no Deployment");
    const c = (api as unknown as IDeployment).spec?.template.spec?.containers[0] as unknown as Record<string, unknown>;
    c.livenessProbe = { httpGet: { paht: "/healthz", port: 5003 } };
    c.replicas = 3;
    c.ports = [{ containerPort: "5003" }];
    const problems = validateStrict(api).join("\n");
    expect(problems).toMatch(/containers\[0\]\.livenessProbe\.httpGet\.paht: no such field/);
    expect(problems).toMatch(/containers\[0\]\.replicas: no such field/);
    expect(problems).toMatch(/containerPort must be integer/);
    expect(validateStrict({ apiVersion: "apps/v1", kind: "StatefulSet" })).toEqual([
      "no schema for apps/v1 StatefulSet",
    ]);
  });

  it("puts everything in the oms namespace, which it creates", () => {
    expect(ofKind<Manifest>(base, "Namespace").map((n) => n.metadata?.name)).toEqual(["oms"]);
    for (const { file, doc } of all.filter((l) => l.doc.kind !== "Namespace")) {
      expect(doc.metadata?.namespace, `${file}: ${doc.kind} ${doc.metadata?.name}`).toBe("oms");
    }
  });
});

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
