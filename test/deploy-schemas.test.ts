/**
 * The Kubernetes and KEDA manifests under deploy/ parse, and each document validates
 * against the Kubernetes 1.27 and KEDA schemas (kubernetes-models, offline) with no field
 * the schema does not know (support/k8s-schema.ts); everything is in the oms namespace.
 */
import { describe, expect, it } from "vitest";
import type { IDeployment } from "kubernetes-models/apps/v1";
import { validateStrict, type Manifest } from "./support/k8s-schema";
import { all, base, kedaPrometheus, kedaRedis, ofKind } from "./support/deploy-manifests";

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
