import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { configFromEnv } from "../src/config.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const DOCKER_DIR = resolve(REPO_ROOT, "infra/docker");
const SERVICE_PORT = configFromEnv({ EASEL_SHARED_SECRET: "x".repeat(16) }).port;

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = "";
  }
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const upper = keyword.toUpperCase();
    const rawArgs = line.slice(keyword.length).trim();
    if (upper === "ARG" && stages.length === 0) {
      const [name = "", value = ""] = rest.join(" ").split("=");
      args.set(name, value);
      continue;
    }
    if (upper === "FROM") {
      const [image = "", as, name] = rest;
      const from = image.replace(/\$\{(\w+)\}/g, (_, v: string) => args.get(v) ?? "");
      stages.push({ from, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword: upper, args: rawArgs });
  }
  return { args, stages };
}

const all = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const args of all(stage, "ENV")) {
    for (const match of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
      env.set(match[1] ?? "", (match[2] ?? "").replace(/^"|"$/g, ""));
    }
  }
  return env;
}

/** The workspace packages @easel/inference needs at run time. */
const workspaceDeps = Object.entries(
  (
    JSON.parse(readFileSync(resolve(REPO_ROOT, "apps/inference/package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    }
  ).dependencies,
)
  .filter(([, version]) => version.startsWith("workspace:"))
  .map(([name]) => name.replace("@easel/", "packages/"));

const IMAGES = [
  {
    file: "inference.cpu.Dockerfile",
    base: /^node:20(\.\d+)*-(bookworm|bullseye)-slim$/,
    provider: "cpu",
  },
  {
    file: "inference.gpu.Dockerfile",
    base: /^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu(22|24)\.04$/,
    provider: "cuda",
  },
] as const;

describe.each(IMAGES)("infra/docker/$file", ({ file, base, provider }) => {
  const text = readFileSync(resolve(DOCKER_DIR, file), "utf8");
  const { stages } = parseDockerfile(text);
  const runtime = stages.at(-1)!;
  const build = stages[0]!;

  it("is multi-stage: dependencies are installed in a build stage on Node 20, not in the runtime", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.from).toMatch(/^node:20/);
    expect(all(build, "RUN").some((r) => r.includes("pnpm install") && r.includes("--prod"))).toBe(
      true,
    );
    expect(all(build, "RUN").some((r) => r.includes("--frozen-lockfile"))).toBe(true);
    expect(all(runtime, "RUN").join(" ")).not.toMatch(/pnpm|npm install|apt-get/);
  });

  it(`runs on the ${provider} base image`, () => {
    expect(runtime.from).toMatch(base);
  });

  it("runs as a numeric non-root user (uid 1000, as the Kubernetes manifests expect)", () => {
    const users = all(runtime, "USER");
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!;
    expect(user).toBe("1000:1000");
    expect(user.split(":")[0]).not.toMatch(/^(0|root)$/);
  });

  it("exposes the service's default port, listens on all interfaces and checks /health", () => {
    const env = envOf(runtime);
    expect(all(runtime, "EXPOSE")).toEqual([String(SERVICE_PORT)]);
    expect(env.get("EASEL_PORT")).toBe(String(SERVICE_PORT));
    expect(env.get("EASEL_HOST")).toBe("0.0.0.0");
    const healthcheck = all(runtime, "HEALTHCHECK");
    expect(healthcheck).toHaveLength(1);
    expect(healthcheck[0]).toMatch(/--start-period=\d+s/);
    expect(healthcheck[0]).toContain("/health");
    expect(healthcheck[0]).toContain("process.env.EASEL_PORT");
  });

  it(`selects the ${provider} execution provider and keeps state and images on a volume`, () => {
    const env = envOf(runtime);
    expect(env.get("EASEL_PROVIDER")).toBe(provider);
    expect(env.get("EASEL_STATE_DIR")).toMatch(/^\/var\/lib\/easel\//);
    expect(env.get("EASEL_STORE_DIR")).toMatch(/^\/var\/lib\/easel\//);
    expect(all(runtime, "VOLUME").join(" ")).toContain("/var/lib/easel");
  });

  it("copies every workspace package the service imports, and starts src/main.ts with tsx", () => {
    const copies = all(runtime, "COPY").join("\n");
    for (const dir of [...workspaceDeps, "apps/inference/src", "packages/shapes/artifacts"]) {
      expect(copies).toContain(`/repo/${dir}`);
    }
    expect(all(runtime, "WORKDIR").at(-1)).toBe("/app/apps/inference");
    expect(JSON.parse(all(runtime, "CMD").at(-1) ?? "[]")).toEqual([
      "node",
      "--no-warnings",
      "--import",
      "tsx",
      "src/main.ts",
    ]);
    // tsx is how the service runs, so it must be a production dependency.
    const pkg = JSON.parse(
      readFileSync(resolve(REPO_ROOT, "apps/inference/package.json"), "utf8"),
    ) as { dependencies: Record<string, string> };
    expect(pkg.dependencies["tsx"]).toBeDefined();
  });
});

describe("onnxruntime-node install choice", () => {
  // The package's own install metadata decides which names and files exist.
  const require = createRequire(resolve(REPO_ROOT, "packages/pipeline/package.json"));
  const ortDir = dirname(require.resolve("onnxruntime-node/package.json"));
  const metadata = require(resolve(ortDir, "script/install-metadata.js")) as {
    requirements: Record<string, string[]>;
    manifests: Record<string, Record<string, unknown>>;
  };
  const gpu = parseDockerfile(
    readFileSync(resolve(DOCKER_DIR, "inference.gpu.Dockerfile"), "utf8"),
  );
  const cpu = parseDockerfile(
    readFileSync(resolve(DOCKER_DIR, "inference.cpu.Dockerfile"), "utf8"),
  );

  it("the GPU image installs the CUDA 12 provider at build time and fails the build without it", () => {
    const install = all(gpu.stages[0]!, "RUN").find((r) => r.includes("script/install.js"));
    expect(install).toBeDefined();
    const flag = /ONNXRUNTIME_NODE_INSTALL=(\S+) node/.exec(install ?? "")?.[1] ?? "";
    expect(metadata.requirements["linux/x64"]).toContain(flag);
    const files = Object.keys(metadata.manifests[`linux/x64:${flag}`] ?? {}).map((f) =>
      f.replace("./", ""),
    );
    expect(files).toContain("libonnxruntime_providers_cuda.so");
    for (const checked of [
      "libonnxruntime_providers_cuda.so",
      "libonnxruntime_providers_shared.so",
    ]) {
      expect(files).toContain(checked);
      expect(install).toContain(`test -f "$ort/bin/napi-v6/linux/x64/${checked}"`);
    }
  });

  it("the CPU image skips the CUDA download that linux/x64 would get by default", () => {
    expect(metadata.requirements["linux/x64"]?.length).toBeGreaterThan(0);
    expect(envOf(cpu.stages[0]!).get("ONNXRUNTIME_NODE_INSTALL")).toBe("skip");
    expect(all(cpu.stages[0]!, "RUN").join(" ")).not.toContain("script/install.js");
  });
});

describe(".dockerignore", () => {
  const lines = readFileSync(resolve(REPO_ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

  it("keeps dependencies, git history and virtualenvs out of the build context, but not the model", () => {
    for (const pattern of ["**/node_modules", ".git", ".venv"]) expect(lines).toContain(pattern);
    expect(lines.some((l) => "packages/shapes/artifacts/model".startsWith(l))).toBe(false);
  });
});

describe("infra/compose/compose.yaml", () => {
  const compose = parseYaml(
    readFileSync(resolve(REPO_ROOT, "infra/compose/compose.yaml"), "utf8"),
  ) as { services: Record<string, Record<string, unknown>> };
  const { minio, "create-bucket": createBucket, inference } = compose.services;

  it("runs MinIO, a one-shot bucket creator and inference built from the CPU Dockerfile", () => {
    expect(minio?.["image"]).toMatch(/^minio\/minio:RELEASE\./);
    expect(createBucket?.["image"]).toMatch(/^minio\/mc:RELEASE\./);
    expect(JSON.stringify(createBucket?.["command"])).toContain("mc mb --ignore-existing");
    const build = inference?.["build"] as { context: string; dockerfile: string };
    const context = resolve(REPO_ROOT, "infra/compose", build.context);
    expect(context).toBe(REPO_ROOT);
    expect(existsSync(resolve(context, build.dockerfile))).toBe(true);
  });

  it("starts inference only after the bucket exists, pointed at it with path-style S3", () => {
    expect(inference?.["depends_on"]).toMatchObject({
      "create-bucket": { condition: "service_completed_successfully" },
      minio: { condition: "service_healthy" },
    });
    const env = inference?.["environment"] as Record<string, string>;
    expect(env["EASEL_S3_FORCE_PATH_STYLE"]).toBe("1");
    expect(env["EASEL_S3_ENDPOINT"]).toBe("http://localhost:9000");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's interpolation, not a template
    expect(env["EASEL_S3_BUCKET"]).toBe("${EASEL_S3_BUCKET:-easel-images}");
    const bucketEnv = (createBucket?.["environment"] ?? {}) as Record<string, string>;
    expect(bucketEnv["BUCKET"]).toBe(env["EASEL_S3_BUCKET"]);
    expect(env["EASEL_SHARED_SECRET"]).toMatch(/^\$\{EASEL_SHARED_SECRET:\?/);
  });

  it("publishes the service's port where its network namespace lives", () => {
    expect(inference?.["network_mode"]).toBe("service:minio");
    expect(minio?.["ports"]).toContain(`127.0.0.1:${SERVICE_PORT}:${SERVICE_PORT}`);
  });
});

const hadolint = [resolve(REPO_ROOT, "infra/.venv/bin/hadolint")].find((p) => existsSync(p));
if (!hadolint)
  console.warn("skipped hadolint: infra/.venv/bin/hadolint absent (infra/validate.sh installs it)");

describe.skipIf(!hadolint)("hadolint", () => {
  it.each(IMAGES)("finds nothing to report in $file, down to info level", ({ file }) => {
    const output = execFileSync(
      hadolint!,
      ["--failure-threshold", "info", "--no-color", resolve(DOCKER_DIR, file)],
      { encoding: "utf8" },
    );
    expect(output).toBe("");
  });
});
