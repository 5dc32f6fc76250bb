/**
 * The manifests under deploy/, loaded once, for the deploy-*.test.ts files (not a test
 * file itself): every document, those of deploy/k8s by kind, and each KEDA variant's.
 * deploy-containers.ts reads what a container runs with.
 */
import { join } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IJob } from "kubernetes-models/batch/v1";
import type { IConfigMap, IService } from "kubernetes-models/v1";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import { QUEUE_NAMES, type QueueName } from "@oms/shared";
import { load, ROOT, type Loaded } from "./k8s-schema";

export const DEPLOY = join(ROOT, "deploy");
export const QUEUES = Object.keys(QUEUE_NAMES) as QueueName[];

export const all = load(DEPLOY);
export const base = load(join(DEPLOY, "k8s"));
export const kedaPrometheus = load(join(DEPLOY, "keda", "prometheus"));
export const kedaRedis = load(join(DEPLOY, "keda", "redis"));

export function ofKind<T>(docs: Loaded[], kind: string): T[] {
  return docs.filter((l) => l.doc.kind === kind).map((l) => l.doc as unknown as T);
}

export const deployments = ofKind<IDeployment>(base, "Deployment");
export const jobs = ofKind<IJob>(base, "Job");
export const services = ofKind<IService>(base, "Service");
export const pdbs = ofKind<IPodDisruptionBudget>(base, "PodDisruptionBudget");
export const [configMap] = ofKind<IConfigMap>(base, "ConfigMap");
export const settings: Record<string, string> = configMap?.data ?? {};

export function deployment(name: string): IDeployment {
  const found = deployments.find((d) => d.metadata?.name === name);
  if (!found) throw new Error(`deploy/k8s has no Deployment ${name}`);
  return found;
}
