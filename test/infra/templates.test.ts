/**
 * Structural and cross-file checks of the deploy templates (infra/), against the code that reads
 * them: the services' own settings parsers, the metric the service exports, the classes the Worker
 * exports, the key store that checks API keys. Schema validation (kubernetes-validate), kustomize
 * builds, terraform validate and hadolint run in infra/validate.sh.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBackends, parseGatewayEnv } from "../../apps/gateway/src/env.ts";
import { KeyStore, parseKeys } from "../../apps/gateway/src/keys/keys.ts";
import { configFromEnv } from "../../apps/inference/src/config.ts";
import {
  find,
  kustomizationDirs,
  loadManifests,
  type Manifest,
  REPO_ROOT,
  readEnvFile,
  readKustomization,
  readYamlDocuments,
  rel,
  selects,
} from "./manifests.ts";

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  terminationGracePeriodSeconds?: number;
}
interface WorkloadSpec {
  replicas?: number;
  serviceName?: string;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  volumeClaimTemplates?: { metadata: { name: string }; spec: { accessModes: string[] } }[];
}

const K8S = resolve(REPO_ROOT, "infra/k8s");
const manifests = loadManifests(K8S);
const workload = (m: Manifest) => m.spec as unknown as WorkloadSpec;
/** The single element of a list, or an error naming what was expected to be single. */
const only = <T>(items: T[] | undefined, what: string): T => {
  if (items?.length !== 1)
    throw new Error(`expected exactly one of ${what}, got ${items?.length ?? 0}`);
  return items[0]!;
};

const inference = find(manifests, "StatefulSet", "easel-inference");
const inferenceSpec = workload(inference);
const inferenceContainer = only(inferenceSpec.template.spec.containers, "inference containers");
const inferenceEnv = readEnvFile(join(K8S, "inference/config.env"));
const scaledObject = find(manifests, "ScaledObject", "easel-inference");
const maxReplicas = (scaledObject.spec as { maxReplicaCount: number }).maxReplicaCount;

const gateway = find(manifests, "StatefulSet", "easel-gateway");
const gatewayContainer = only(workload(gateway).template.spec.containers, "gateway containers");
const gatewayEnv = readEnvFile(join(K8S, "gateway-node/config.env"));

/** Resolves a probe's port (a number or the name of a container port) to a number. */
function probePort(container: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === "number") return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Seconds a probe keeps failing before it acts. */
const patience = (p: Probe | undefined) => (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);

const secretRefs = (container: Container) =>
  (container.env ?? []).flatMap((e) =>
    e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : [],
  );

const FAKE_SECRET = "0123456789abcdef0123456789abcdef";

describe("Kubernetes templates (infra/k8s)", () => {
  it("uses only known apiVersion/kind pairs, each object with a name", () => {
    const known = new Set([
      "v1/Namespace",
      "v1/Service",
      "v1/PersistentVolumeClaim",
      "apps/v1/StatefulSet",
      "apps/v1/Deployment",
      "policy/v1/PodDisruptionBudget",
      "networking.k8s.io/v1/NetworkPolicy",
      "keda.sh/v1alpha1/ScaledObject",
    ]);
    expect(manifests.length).toBeGreaterThan(8);
    for (const m of manifests) {
      expect(known, `${m.file}: ${m.apiVersion}/${m.kind}`).toContain(`${m.apiVersion}/${m.kind}`);
      expect(m.metadata?.name, `${m.file}: metadata.name`).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    }
  });

  it("lists in its kustomizations every file it ships, and only files that exist", () => {
    const listed = new Set<string>();
    for (const dir of kustomizationDirs(K8S)) {
      const k = readKustomization(dir);
      for (const entry of [...k.resources, ...k.components, ...k.patches, ...k.generatorFiles]) {
        const path = resolve(dir, entry);
        expect(existsSync(path), `${rel(dir)}/kustomization.yaml lists ${entry}`).toBe(true);
        listed.add(path);
      }
    }
    const shipped = kustomizationDirs(K8S).flatMap((dir) =>
      readdirSync(dir)
        .filter((f) => /\.(ya?ml|env)$/.test(f) && f !== "kustomization.yaml")
        .map((f) => join(dir, f)),
    );
    for (const file of shipped)
      expect(listed, `${rel(file)} is not in any kustomization`).toContain(file);
  });

  it("gives each inference pod one NVIDIA GPU, requested and limited alike", () => {
    const { requests, limits } = inferenceContainer.resources ?? {};
    expect(limits?.["nvidia.com/gpu"]).toBe("1");
    // Extended resources cannot be overcommitted: a request, if present, must equal the limit.
    if (requests?.["nvidia.com/gpu"] !== undefined) expect(requests["nvidia.com/gpu"]).toBe("1");
    expect(inferenceEnv["EASEL_PROVIDER"]).toBe("cuda");
  });

  it("probes /health on the port the service listens on (EASEL_PORT)", () => {
    const port = Number(inferenceEnv["EASEL_PORT"]);
    expect(inferenceEnv["EASEL_HOST"]).toBe("0.0.0.0");
    for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
      const probe = inferenceContainer[kind];
      expect(probe?.httpGet?.path, kind).toBe("/health");
      expect(probePort(inferenceContainer, probe), kind).toBe(port);
    }
  });

  it("waits minutes for model loading, leaves rotation fast, and restarts only a hung pod", () => {
    expect(patience(inferenceContainer.startupProbe)).toBeGreaterThanOrEqual(300);
    expect(patience(inferenceContainer.readinessProbe)).toBeLessThanOrEqual(15);
    // Liveness must outlast a long GPU batch; /health answers 200 while BUSY anyway.
    expect(patience(inferenceContainer.livenessProbe)).toBeGreaterThanOrEqual(60);
    expect(inferenceContainer.livenessProbe?.timeoutSeconds ?? 1).toBeGreaterThanOrEqual(5);
  });

  it("gives the pod EASEL_GRACE_MS to drain, plus a margin to abort and flush the journal", () => {
    const graceS = Number(inferenceEnv["EASEL_GRACE_MS"]) / 1000;
    const termination = inferenceSpec.template.spec.terminationGracePeriodSeconds ?? 30;
    expect(termination).toBeGreaterThanOrEqual(graceS + 5);
    expect(termination).toBeLessThanOrEqual(graceS + 60);
  });

  it("keeps the prediction journal (EASEL_STATE_DIR) on a volume of each pod's own", () => {
    const claim = only(inferenceSpec.volumeClaimTemplates, "volumeClaimTemplates");
    expect(claim.spec.accessModes).toEqual(["ReadWriteOnce"]);
    const mount = inferenceContainer.volumeMounts?.find((m) => m.name === claim.metadata.name);
    expect(mount?.mountPath).toBe(inferenceEnv["EASEL_STATE_DIR"]);
  });

  it("sets only settings the inference service reads, with values its parser accepts", () => {
    const known = new Set(
      [
        readFileSync(resolve(REPO_ROOT, "apps/inference/src/config.ts"), "utf8"),
        readFileSync(resolve(REPO_ROOT, "packages/storage/src/config.ts"), "utf8"),
      ].flatMap((source) =>
        [...source.matchAll(/\b((?:EASEL|AWS)_[A-Z0-9_]+)\b/g)].map((m) => m[1]),
      ),
    );
    for (const key of Object.keys(inferenceEnv)) expect(known, `config.env: ${key}`).toContain(key);
    const config = configFromEnv({ ...inferenceEnv, EASEL_SHARED_SECRET: FAKE_SECRET });
    expect(config.port).toBe(8081);
    expect(config.executionProvider).toBe("cuda");
    expect(config.store.kind).toBe("s3");
  });

  it("reads its secrets by name and key, each with a creation command in docs/DEPLOY.md", () => {
    const docs = readFileSync(resolve(REPO_ROOT, "docs/DEPLOY.md"), "utf8");
    const refs = [inferenceContainer, gatewayContainer].flatMap(secretRefs);
    expect(refs.map((r) => r.name)).toContain("easel-shared-secret");
    for (const { name, key } of refs) {
      expect(docs, `kubectl create secret for ${name}`).toMatch(
        new RegExp(
          `create secret generic ${name}\\b[^\\n]*(\\\\\\n[^\\n]*)*--from-literal=${key}=`,
        ),
      );
    }
    const shared = refs.filter((r) => r.key === "EASEL_SHARED_SECRET");
    expect(new Set(shared.map((r) => r.name)).size, "one shared secret for both sides").toBe(1);
  });

  it("selects the inference pods from the headless Service and the PodDisruptionBudget", () => {
    const podLabels = inferenceSpec.template.metadata.labels;
    expect(selects(inferenceSpec.selector.matchLabels, podLabels)).toBe(true);
    const service = find(manifests, "Service", inferenceSpec.serviceName ?? "");
    const serviceSpec = service.spec as {
      clusterIP?: string;
      publishNotReadyAddresses?: boolean;
      selector: Record<string, string>;
      ports: { port: number; targetPort: string | number }[];
    };
    expect(serviceSpec.clusterIP).toBe("None");
    expect(serviceSpec.publishNotReadyAddresses).toBe(true);
    expect(selects(serviceSpec.selector, podLabels)).toBe(true);
    const servicePort = only(serviceSpec.ports, "service ports");
    expect(
      probePort(inferenceContainer, { httpGet: { path: "/", port: servicePort.targetPort } }),
    ).toBe(servicePort.port);

    const pdb = find(manifests, "PodDisruptionBudget", "easel-inference").spec as {
      selector: { matchLabels: Record<string, string> };
      maxUnavailable?: number;
      minAvailable?: number;
    };
    expect(selects(pdb.selector.matchLabels, podLabels)).toBe(true);
    // minAvailable: 1 with one replica would block every node drain.
    expect(pdb.minAvailable).toBeUndefined();
    expect(pdb.maxUnavailable).toBe(1);
    // Nothing else in the namespace matches the inference selector.
    const others = manifests.filter(
      (m) =>
        m !== inference &&
        (m.kind === "StatefulSet" || m.kind === "Deployment") &&
        selects(inferenceSpec.selector.matchLabels, workload(m).template.metadata.labels),
    );
    expect(others.map((m) => m.metadata.name)).toEqual([]);
  });

  it("scales the StatefulSet with KEDA on the easel_queue_depth gauge the service exports", () => {
    const spec = scaledObject.spec as {
      scaleTargetRef: { apiVersion?: string; kind: string; name: string };
      minReplicaCount: number;
      triggers: { type: string; metadata: { query: string; threshold: string } }[];
    };
    expect(spec.scaleTargetRef).toMatchObject({ kind: "StatefulSet", name: "easel-inference" });
    // KEDA owns replicas: a `replicas` in the manifest would reset it on every apply.
    expect(inferenceSpec.replicas).toBeUndefined();
    expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);

    const trigger = only(spec.triggers, "triggers");
    expect(trigger.type).toBe("prometheus");
    const metrics = readFileSync(resolve(REPO_ROOT, "apps/inference/src/metrics.ts"), "utf8");
    const metric = trigger.metadata.query.match(/\b(easel_[a-z_]+)\{/)?.[1];
    expect(metric).toBe("easel_queue_depth");
    expect(metrics).toContain(`new Gauge("${metric}"`);
    expect(Number(trigger.metadata.threshold)).toBeGreaterThan(0);

    const namespace = readKustomization(K8S).namespace;
    expect(trigger.metadata.query).toContain(`namespace="${namespace}"`);
    const podPattern = trigger.metadata.query.match(/pod=~"([^"]+)"/)?.[1] ?? "";
    const podName = new RegExp(`^(?:${podPattern})$`);
    expect(podName.test("easel-inference-0")).toBe(true);
    expect(podName.test("easel-inference-12")).toBe(true);
    expect(podName.test("easel-gateway-0")).toBe(false);
  });

  it("lists one stable backend per possible inference pod in the Node gateway", () => {
    const backends = parseBackends(gatewayEnv["EASEL_INFERENCE_URLS"] ?? "");
    expect(backends).toHaveLength(maxReplicas);
    const service = inferenceSpec.serviceName;
    backends.forEach((backend, i) => {
      expect(backend.id).toBe(`inference-${i}`);
      expect(backend.url).toBe(
        `http://easel-inference-${i}.${service}:${inferenceEnv["EASEL_PORT"]}`,
      );
    });
  });

  it("routes one tunnel hostname per possible inference pod, as the production Worker lists them", () => {
    const [config] = readYamlDocuments(join(K8S, "tunnel/config.yaml")) as {
      ingress: { hostname?: string; service: string }[];
    }[];
    const routes = config!.ingress.filter((r) => r.hostname);
    expect(routes).toHaveLength(maxReplicas);
    routes.forEach((route, i) => {
      expect(route.service).toBe(
        `http://easel-inference-${i}.${inferenceSpec.serviceName}:${inferenceEnv["EASEL_PORT"]}`,
      );
    });
    expect(config!.ingress.at(-1)).toEqual({ service: "http_status:404" });
    const worker = readWranglerConfig().production!;
    const hosts = parseBackends(String(worker.vars["EASEL_INFERENCE_URLS"])).map(
      (b) => new URL(b.url).hostname,
    );
    expect(hosts).toEqual(routes.map((r) => r.hostname));
  });

  it("configures the Node gateway with settings its parser accepts and probes its /health", () => {
    const config = parseGatewayEnv({ ...gatewayEnv, EASEL_SHARED_SECRET: FAKE_SECRET });
    expect(config.EASEL_ALLOW_PRIVATE_WEBHOOKS).toBe("0");
    const app = readFileSync(resolve(REPO_ROOT, "apps/gateway/src/app.ts"), "utf8");
    expect(app).toContain('app.get("/health"');
    for (const kind of ["readinessProbe", "livenessProbe"] as const) {
      expect(gatewayContainer[kind]?.httpGet?.path).toBe("/health");
      expect(probePort(gatewayContainer, gatewayContainer[kind])).toBe(Number(gatewayEnv["PORT"]));
    }
    // Jobs live in the pod's volume: more than one replica would split them.
    expect(workload(gateway).replicas).toBe(1);
    const claim = only(workload(gateway).volumeClaimTemplates, "gateway volumeClaimTemplates");
    const mount = gatewayContainer.volumeMounts?.find((m) => m.name === claim.metadata.name);
    expect(mount?.mountPath).toBe(gatewayEnv["EASEL_GATEWAY_DATA_DIR"]);
  });

  it("lets only the gateway reach Redis, at the address REDIS_URL names", () => {
    const redis = find(manifests, "Deployment", "easel-redis");
    const service = find(manifests, "Service", "easel-redis").spec as {
      selector: Record<string, string>;
      ports: { port: number }[];
    };
    const redisLabels = workload(redis).template.metadata.labels;
    expect(selects(service.selector, redisLabels)).toBe(true);
    const url = new URL(gatewayEnv["REDIS_URL"] ?? "");
    expect(url.hostname).toBe("easel-redis");
    expect(Number(url.port)).toBe(only(service.ports, "redis ports").port);

    const policy = find(manifests, "NetworkPolicy", "easel-redis").spec as {
      podSelector: { matchLabels: Record<string, string> };
      ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[] }[];
    };
    expect(selects(policy.podSelector.matchLabels, redisLabels)).toBe(true);
    const from = only(only(policy.ingress, "ingress rules").from, "ingress sources");
    expect(selects(from.podSelector.matchLabels, workload(gateway).template.metadata.labels)).toBe(
      true,
    );
  });

  it("mounts the model volume read-only where the component's EASEL_MODELS points", () => {
    const dir = join(K8S, "components/sd-model-volume");
    const component = readKustomization(dir);
    expect(component.kind).toBe("Component");
    const generator = only(component.configMapGenerator, "component generators");
    expect(generator.name).toBe(only(inferenceContainer.envFrom, "envFrom").configMapRef?.name);
    const literals = Object.fromEntries(
      (generator.literals ?? []).map((l) => [
        l.slice(0, l.indexOf("=")),
        l.slice(l.indexOf("=") + 1),
      ]),
    );
    const config = configFromEnv({
      ...inferenceEnv,
      ...literals,
      EASEL_SHARED_SECRET: FAKE_SECRET,
    });
    const [patch] = readYamlDocuments(join(dir, only(component.patches, "patches"))) as {
      metadata: { name: string };
      spec: { template: { spec: PodSpec } };
    }[];
    expect(patch!.metadata.name).toBe(inference.metadata.name);
    const container = only(patch!.spec.template.spec.containers, "patched containers");
    expect(container.name).toBe(inferenceContainer.name);
    const mount = only(container.volumeMounts, "model mounts");
    expect(mount.readOnly).toBe(true);
    for (const model of config.models)
      expect(model.dir.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(config.defaultModel).toBe(config.models[0]?.name);
    const volume = patch!.spec.template.spec.volumes?.find((v) => v.name === mount.name);
    const [pvc] = readYamlDocuments(join(dir, "pvc.yaml")) as Manifest[];
    expect(volume?.persistentVolumeClaim?.claimName).toBe(pvc!.metadata.name);
  });
});

const GPU_DOCKERFILE = resolve(REPO_ROOT, "infra/docker/inference.gpu.Dockerfile");
if (!existsSync(GPU_DOCKERFILE))
  console.warn("skipped: infra/docker/inference.gpu.Dockerfile absent");

describe.skipIf(!existsSync(GPU_DOCKERFILE))("the GPU image (infra/docker)", () => {
  it("runs as the user the manifests run it as, on the port they probe", () => {
    const dockerfile = existsSync(GPU_DOCKERFILE) ? readFileSync(GPU_DOCKERFILE, "utf8") : "";
    const user = dockerfile.match(/^USER (\d+)(?::(\d+))?\s*$/m);
    const security = inferenceSpec.template.spec as PodSpec & {
      securityContext?: { runAsUser?: number; runAsGroup?: number };
    };
    expect(Number(user?.[1])).toBe(security.securityContext?.runAsUser);
    if (user?.[2]) expect(Number(user[2])).toBe(security.securityContext?.runAsGroup);
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${inferenceEnv["EASEL_PORT"]}\\b`, "m"));
  });
});

describe("Cloud Run template (infra/serverless/cloud-run)", () => {
  const [service] = readYamlDocuments(
    resolve(REPO_ROOT, "infra/serverless/cloud-run/service.yaml"),
  ) as {
    spec: {
      template: {
        metadata: { annotations: Record<string, string> };
        spec: { nodeSelector: Record<string, string>; containers: Container[] };
      };
    };
  }[];
  const template = service!.spec.template;
  const container = only(template.spec.containers, "Cloud Run containers");
  const env = Object.fromEntries(
    (container.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
  );

  it("asks for one NVIDIA L4 with the CPU and memory Cloud Run requires beside it", () => {
    expect(template.spec.nodeSelector["run.googleapis.com/accelerator"]).toBe("nvidia-l4");
    const limits = container.resources?.limits ?? {};
    expect(limits["nvidia.com/gpu"]).toBe("1");
    expect(Number(limits["cpu"])).toBeGreaterThanOrEqual(4);
    expect(Number.parseInt(limits["memory"] ?? "0", 10)).toBeGreaterThanOrEqual(16);
    expect(limits["memory"]).toMatch(/Gi$/);
    expect(template.metadata.annotations["run.googleapis.com/cpu-throttling"]).toBe("false");
  });

  it("runs exactly one instance, since the gateway pins a job to the instance that took it", () => {
    expect(template.metadata.annotations["autoscaling.knative.dev/maxScale"]).toBe("1");
  });

  it("probes /health on the container port and drains within Cloud Run's 10 s", () => {
    const port = Number(env["EASEL_PORT"]);
    expect(container.ports?.[0]?.containerPort).toBe(port);
    for (const kind of ["startupProbe", "livenessProbe"] as const) {
      expect(container[kind]?.httpGet?.path, kind).toBe("/health");
      expect(probePort(container, container[kind]), kind).toBe(port);
    }
    const config = configFromEnv({ ...env, EASEL_SHARED_SECRET: FAKE_SECRET });
    expect(config.graceMs).toBeLessThan(10_000);
    expect(config.store.kind).toBe("s3");
  });
});

interface WorkerConfig {
  name: string;
  vars: Record<string, unknown>;
  durableObjects: { name: string; class_name: string }[];
  migrations: { tag: string; new_classes?: string[]; new_sqlite_classes?: string[] }[];
  secretsRequired: string[];
  workersDev?: boolean;
  routes: unknown[];
}

const ENVIRONMENTS = ["dev", "staging", "production"] as const;
let wranglerConfig: Record<string, WorkerConfig> | undefined;
/** The Wrangler configuration per environment, as Wrangler resolves it (inheritance included). */
function readWranglerConfig(): Record<string, WorkerConfig> {
  wranglerConfig ??= JSON.parse(
    execFileSync("node", [resolve(import.meta.dirname, "wrangler-config.mjs"), ...ENVIRONMENTS], {
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    }),
  ) as Record<string, WorkerConfig>;
  return wranglerConfig;
}

describe("Workers gateway configuration (apps/gateway/wrangler.jsonc)", () => {
  const entry = readFileSync(resolve(REPO_ROOT, "apps/gateway/src/entry.worker.ts"), "utf8");
  const exported = [...entry.matchAll(/export \{ (\w+DurableObject) \}/g)].map((m) => m[1]);

  it.each(ENVIRONMENTS)(
    "binds both Durable Objects in %s, with migrations that create their classes",
    (env) => {
      const config = readWranglerConfig()[env]!;
      expect(Object.fromEntries(config.durableObjects.map((b) => [b.name, b.class_name]))).toEqual({
        RATE_LIMITER: "RateLimiterDurableObject",
        JOBS: "JobsDurableObject",
      });
      for (const b of config.durableObjects) expect(exported).toContain(b.class_name);
      const created = config.migrations.flatMap((m) => [
        ...(m.new_sqlite_classes ?? []),
        ...(m.new_classes ?? []),
      ]);
      for (const b of config.durableObjects) expect(created).toContain(b.class_name);
      expect(new Set(config.migrations.map((m) => m.tag)).size).toBe(config.migrations.length);
    },
  );

  it.each(ENVIRONMENTS)("deploys %s as its own Worker, with vars the gateway accepts", (env) => {
    const all = readWranglerConfig();
    const config = all[env]!;
    expect(config.name).not.toBe(all["top"]!.name);
    expect(config.secretsRequired).toEqual(
      expect.arrayContaining(["EASEL_API_KEYS", "EASEL_SHARED_SECRET"]),
    );
    const vars = Object.fromEntries(Object.entries(config.vars).map(([k, v]) => [k, String(v)]));
    const parsed = parseGatewayEnv({ ...vars, EASEL_SHARED_SECRET: FAKE_SECRET });
    const backends = parseBackends(parsed.EASEL_INFERENCE_URLS);
    for (const b of backends) expect(new URL(b.url).protocol, `${env}: ${b.url}`).toBe("https:");
    expect(new Set(backends.map((b) => b.id)).size).toBe(backends.length);
  });

  it("keeps production off workers.dev and the top level on a local inference service", () => {
    const all = readWranglerConfig();
    expect(all["production"]!.workersDev).toBe(false);
    expect(all["production"]!.routes.length).toBeGreaterThan(0);
    expect(all["top"]!.vars["EASEL_INFERENCE_URLS"]).toBe("http://127.0.0.1:8081");
  });

  it.each(ENVIRONMENTS)(
    "bundles the Worker offline with `wrangler deploy --dry-run --env %s`",
    { timeout: 120_000 },
    (env) => {
      const outdir = mkdtempSync(join(tmpdir(), "easel-wrangler-"));
      try {
        const result = spawnSync(
          "node",
          [
            "node_modules/wrangler/bin/wrangler.js",
            "deploy",
            "--dry-run",
            "--env",
            env,
            "--outdir",
            outdir,
          ],
          {
            cwd: resolve(REPO_ROOT, "apps/gateway"),
            encoding: "utf8",
            env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
            timeout: 110_000,
          },
        );
        expect(result.status, result.stderr + result.stdout).toBe(0);
        expect(result.stdout).toContain("env.RATE_LIMITER (RateLimiterDurableObject)");
        expect(result.stdout).toContain("--dry-run: exiting now.");
        expect(existsSync(join(outdir, "entry.worker.js"))).toBe(true);
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    },
  );
});

describe("API key script (infra/scripts/hash-key.mjs)", () => {
  const script = resolve(REPO_ROOT, "infra/scripts/hash-key.mjs");

  it("prints a new token whose entry the gateway's key store accepts", async () => {
    const out = JSON.parse(
      execFileSync(
        "node",
        [script, "--id", "acme", "--name", "Acme", "--requests", "120", "--json"],
        {
          encoding: "utf8",
        },
      ),
    ) as { token: string; hash: string; entry: unknown };
    const store = new KeyStore(await parseKeys(JSON.stringify([out.entry])));
    expect((await store.verify(out.token))?.id).toBe("acme");
    expect(await store.verify(`${out.token}x`)).toBeNull();
    expect(out.entry).toMatchObject({ limits: { requests: 120, windowSeconds: 60 } });
  });

  it("hashes a token from stdin to the SHA-256 that sha256sum gives", () => {
    const token = "sk-local-0123456789abcdef";
    const out = JSON.parse(
      execFileSync("node", [script, "--id", "k1", "--stdin", "--json"], {
        input: token,
        encoding: "utf8",
      }),
    ) as { hash: string };
    // Reference: the SHA-256 of the 25 ASCII bytes, from coreutils' sha256sum.
    expect(out.hash).toBe("83d81b0a149940e508ccc186234130c6d899be50f9d0c6c152d3af2e0bf38f02");
  });

  it("refuses an invalid id with exit status 2 and a message naming the option", () => {
    const result = spawnSync("node", [script, "--id", "not valid"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--id must match [A-Za-z0-9_-]{1,64}, got "not valid"');
  });
});

const TF_PLUGIN_DIR = process.env["EASEL_TF_PLUGIN_DIR"] ?? "/opt/tf-plugins";
const hasTerraform = spawnSync("terraform", ["version"], { encoding: "utf8" }).status === 0;
const canPlan = hasTerraform && existsSync(TF_PLUGIN_DIR);
if (!canPlan) {
  console.warn(
    `skipped: terraform plan of the image-bucket module (needs terraform and a provider mirror at ${TF_PLUGIN_DIR}; set EASEL_TF_PLUGIN_DIR)`,
  );
}

interface PlannedResource {
  address: string;
  type: string;
  values: Record<string, unknown>;
}
interface PolicyStatement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/**
 * Plans the module offline (fake credentials, no API calls, providers from the local mirror) and
 * returns its planned resources.
 */
function planModule(dir: string, vars: Record<string, string>): PlannedResource[] {
  const tf = (args: string[]) =>
    execFileSync("terraform", args, {
      cwd: dir,
      encoding: "utf8",
      env: {
        ...process.env,
        TF_IN_AUTOMATION: "1",
        TF_CLI_CONFIG_FILE: "/dev/null",
        CHECKPOINT_DISABLE: "1",
      },
      maxBuffer: 64 * 1024 * 1024,
    });
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ["-var", `${k}=${v}`]);
  tf(["plan", "-input=false", "-refresh=false", "-lock=false", "-out=plan.bin", ...varArgs]);
  const plan = JSON.parse(tf(["show", "-json", "plan.bin"])) as {
    planned_values: { root_module: { resources: PlannedResource[] } };
  };
  return plan.planned_values.root_module.resources;
}

describe.skipIf(!canPlan)("Image bucket module (infra/terraform/modules/image-bucket)", () => {
  let work = "";
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "easel-tf-"));
    cpSync(resolve(REPO_ROOT, "infra/terraform/modules/image-bucket"), work, { recursive: true });
    // Plans without AWS: fake credentials and every provider-side lookup turned off.
    writeFileSync(
      join(work, "offline_provider.tf"),
      `provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
`,
    );
    execFileSync(
      "terraform",
      ["init", "-backend=false", "-input=false", `-plugin-dir=${TF_PLUGIN_DIR}`],
      {
        cwd: work,
        env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1" },
      },
    );
  }, 120_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });
  const byType = (resources: PlannedResource[], type: string) =>
    resources.filter((r) => r.type === type).map((r) => r.values);
  const statements = (values: Record<string, unknown> | undefined) =>
    (JSON.parse(String(values?.["policy"])) as { Statement: PolicyStatement[] }).Statement;

  it("blocks public access, encrypts, expires predictions/ after N days, and grants Put/Get there only", {
    timeout: 180_000,
  }, () => {
    const resources = planModule(work, {
      bucket_name: "easel-plan",
      prediction_retention_days: "9",
    });
    expect(byType(resources, "aws_s3_bucket_public_access_block")).toEqual([
      expect.objectContaining({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      }),
    ]);
    expect(byType(resources, "aws_s3_bucket_ownership_controls")[0]).toMatchObject({
      rule: [{ object_ownership: "BucketOwnerEnforced" }],
    });
    expect(
      byType(resources, "aws_s3_bucket_server_side_encryption_configuration")[0],
    ).toMatchObject({
      rule: [{ apply_server_side_encryption_by_default: [{ sse_algorithm: "AES256" }] }],
    });
    const rules = byType(resources, "aws_s3_bucket_lifecycle_configuration")[0]?.["rule"] as {
      id: string;
      filter: { prefix: string }[];
      expiration: { days: number }[];
    }[];
    const expiry = rules.find((r) => r.expiration.length > 0);
    expect(expiry?.filter[0]?.prefix).toBe("predictions/");
    expect(expiry?.expiration[0]?.days).toBe(9);
    // The prefix is the one the inference service writes under.
    const service = readFileSync(resolve(REPO_ROOT, "apps/inference/src/service.ts"), "utf8");
    expect(service).toMatch(/`predictions\/\$\{/);

    const [grant] = statements(byType(resources, "aws_iam_policy")[0]);
    expect(statements(byType(resources, "aws_iam_policy")[0])).toHaveLength(1);
    expect(grant?.Effect).toBe("Allow");
    expect(new Set(list(grant!.Action))).toEqual(new Set(["s3:PutObject", "s3:GetObject"]));
    expect(list(grant!.Resource)).toEqual(["arn:aws:s3:::easel-plan/predictions/*"]);

    const [deny] = statements(byType(resources, "aws_s3_bucket_policy")[0]);
    expect(deny).toMatchObject({
      Effect: "Deny",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
    expect(byType(resources, "aws_s3_bucket_cors_configuration")).toEqual([]);
  });

  it("follows EASEL_S3_PREFIX, a KMS key and CORS origins when they are given", {
    timeout: 180_000,
  }, () => {
    const key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const resources = planModule(work, {
      bucket_name: "easel-plan",
      key_prefix: "prod",
      kms_key_arn: key,
      cors_allowed_origins: '["https://app.example.com"]',
    });
    const rules = byType(resources, "aws_s3_bucket_lifecycle_configuration")[0]?.["rule"] as {
      filter: { prefix: string }[];
      expiration: { days: number }[];
    }[];
    expect(rules.find((r) => r.expiration.length > 0)?.filter[0]?.prefix).toBe("prod/predictions/");
    const policy = statements(byType(resources, "aws_iam_policy")[0]);
    expect(policy.find((s) => s.Sid === "ReadWriteGeneratedImages")?.Resource).toBe(
      "arn:aws:s3:::easel-plan/prod/predictions/*",
    );
    const kms = policy.find((s) => s.Sid === "UseImageBucketKey");
    expect(new Set(list(kms!.Action))).toEqual(new Set(["kms:GenerateDataKey", "kms:Decrypt"]));
    expect(kms!.Resource).toBe(key);
    expect(
      byType(resources, "aws_s3_bucket_server_side_encryption_configuration")[0],
    ).toMatchObject({
      rule: [
        {
          bucket_key_enabled: true,
          apply_server_side_encryption_by_default: [
            { sse_algorithm: "aws:kms", kms_master_key_id: key },
          ],
        },
      ],
    });
    expect(byType(resources, "aws_s3_bucket_cors_configuration")[0]).toMatchObject({
      cors_rule: [
        { allowed_methods: ["GET", "HEAD"], allowed_origins: ["https://app.example.com"] },
      ],
    });
  });
});
