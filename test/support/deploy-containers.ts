/**
 * What a container of the manifests under deploy/ runs (not a test file itself): a
 * Deployment's one container, the environment and config it runs with, the ports its
 * probes and Services name, and the built file it runs.
 */
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IContainer } from "kubernetes-models/v1";
import { ENTRIES, loadApiConfig, loadAutoscalerConfig, loadBaseConfig, loadWorkerConfig } from "@oms/shared";
import { deployments, jobs, settings } from "./deploy-manifests";

export function container(d: IDeployment): IContainer {
  const [first, ...rest] = d.spec?.template.spec?.containers ?? [];
  if (!first || rest.length) throw new Error(`${d.metadata?.name}: expected exactly one container`);
  return first;
}

export function envOf(c: IContainer): Record<string, string> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? ""]));
}

/** The environment a container runs with: the ConfigMap, placeholder secrets, then its own env. */
export function environment(c: IContainer): Record<string, string> {
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

export function matches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  return (
    !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v)
  );
}

/** The container port a probe or Service names (by name or number). */
export function portNumber(c: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return c.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** The bundles `npm run build` writes (packages/shared/src/entries.ts). */
export const BUILT = new Set(Object.keys(ENTRIES).map((name) => `dist/${name}.js`));

/** Parses a container's environment as the process it runs would (a built entry point's own settings). */
export function loadConfigOf(c: IContainer): object {
  const loaders: Record<string, (env: Record<string, string>) => object> = {
    "dist/api.js": loadApiConfig,
    "dist/workers.js": loadWorkerConfig,
    "dist/autoscaler.js": loadAutoscalerConfig,
  };
  const load = loaders[entryFile(c)] ?? loadBaseConfig;
  return load(environment(c));
}

/** The built file a container runs: `args` (node and a dist/ file), no `command`, so the image's tini stays PID 1. */
export function entryFile(c: IContainer): string {
  if (c.command) throw new Error(`container ${c.name} sets command, replacing the image's init (tini)`);
  const [node, ...rest] = c.args ?? [];
  const files = rest.filter((arg) => !arg.startsWith("-"));
  if (node !== "node" || files.length !== 1 || !BUILT.has(files[0]!)) {
    throw new Error(`container ${c.name} does not run node on one built file: ${JSON.stringify(c.args)}`);
  }
  return files[0]!;
}

/** Every container of every pod template: the Deployments' and the Jobs'. */
export const podTemplates = [...deployments, ...jobs].map((w) => ({
  name: w.metadata?.name ?? "",
  spec: w.spec?.template.spec,
}));
