/**
 * Strict validation of Kubernetes and KEDA manifests (not a test file itself): each
 * document against the Kubernetes 1.27 and KEDA schemas (kubernetes-models, offline), with
 * no field the schema does not know; and the YAML documents of a folder, loaded.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { ConfigMap, Namespace, Service } from "kubernetes-models/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { errorMessage } from "@oms/shared";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  [field: string]: unknown;
}

export interface Loaded {
  file: string;
  doc: Manifest;
}

export type Validatable = { validate(): void };
export type ModelClass = new (data: Manifest) => Validatable;

/** The schemas a manifest may use: apiVersion/kind -> its kubernetes-models class. */
export const MODELS: Record<string, ModelClass> = {
  "v1/Namespace": Namespace as unknown as ModelClass,
  "v1/ConfigMap": ConfigMap as unknown as ModelClass,
  "v1/Service": Service as unknown as ModelClass,
  "apps/v1/Deployment": Deployment as unknown as ModelClass,
  "batch/v1/Job": Job as unknown as ModelClass,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget as unknown as ModelClass,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject as unknown as ModelClass,
  "keda.sh/v1alpha1/TriggerAuthentication": TriggerAuthentication as unknown as ModelClass,
};

export function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

export function load(dir: string): Loaded[] {
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
    problems.push(errorMessage(err));
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
