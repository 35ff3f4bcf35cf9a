import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { freePort } from "@easel/storage/testing";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");

export interface StackOptions {
  /** Run the gateway under `wrangler dev` (workerd) instead of Node. */
  worker?: boolean;
  /** Fixed ports (`up`); free ports are picked otherwise. */
  gatewayPort?: number;
  inferencePort?: number;
  /** Where images, prediction state and job records live. Default `.easel/` in the repo. */
  dataDir?: string;
  /** Extra environment for the inference service (EASEL_MODELS, EASEL_S3_*...). */
  inferenceEnv?: Record<string, string>;
  /** Extra environment for the gateway (EASEL_CORS_ORIGINS, REDIS_URL...). */
  gatewayEnv?: Record<string, string>;
  /** Forward the services' logs to stderr. */
  verbose?: boolean;
}

export interface RunningStack {
  baseUrl: string;
  apiKey: string;
  inferenceUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts inference (CPU, embedded model, local image directory) and the gateway (Node, or workerd
 * through `wrangler dev`), waits until both are healthy, and returns the gateway's URL and a fresh
 * API key. Everything listens on 127.0.0.1.
 *
 * @example
 * const stack = await startStack();
 * const easel = createEaselClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
 */
export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const dataDir = resolve(options.dataDir ?? resolve(REPO_ROOT, ".easel"));
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(24).toString("hex");
  const apiKey = `sk-local-${randomBytes(18).toString("hex")}`;
  const inferencePort = options.inferencePort ?? (await freePort());
  const gatewayPort = options.gatewayPort ?? (await freePort());
  const inferenceUrl = `http://127.0.0.1:${inferencePort}`;
  const baseUrl = `http://127.0.0.1:${gatewayPort}`;
  const keys = JSON.stringify([
    { id: "local", name: "local", token: apiKey, limits: { requests: 600, windowSeconds: 60, concurrentJobs: 16 } },
  ]);
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => stopChild(child)));
  };
  try {
    children.push(
      launch("inference", ["--import", "tsx", "apps/inference/src/main.ts"], {
        EASEL_HOST: "127.0.0.1",
        EASEL_PORT: String(inferencePort),
        EASEL_SHARED_SECRET: secret,
        EASEL_STATE_DIR: resolve(dataDir, "inference"),
        EASEL_STORE_DIR: resolve(dataDir, "images"),
        ...options.inferenceEnv,
      }, options.verbose),
    );
    await waitForHealth(`${inferenceUrl}/health`, "READY", children[0]!, 120_000);
    const gatewayEnv = {
      EASEL_API_KEYS: keys,
      EASEL_INFERENCE_URLS: inferenceUrl,
      EASEL_SHARED_SECRET: secret,
      EASEL_PUBLIC_URL: baseUrl,
      ...options.gatewayEnv,
    };
    if (options.worker) {
      const vars = Object.entries(gatewayEnv).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
      children.push(
        launch(
          "gateway",
          [resolve(REPO_ROOT, "apps/gateway/node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", String(gatewayPort), "--persist-to", resolve(dataDir, "wrangler"), ...vars],
          { WRANGLER_SEND_METRICS: "false" },
          options.verbose,
          resolve(REPO_ROOT, "apps/gateway"),
        ),
      );
    } else {
      children.push(
        launch("gateway", ["--import", "tsx", "apps/gateway/src/entry.node.ts"], {
          HOST: "127.0.0.1",
          PORT: String(gatewayPort),
          EASEL_GATEWAY_DATA_DIR: resolve(dataDir, "gateway"),
          ...gatewayEnv,
        }, options.verbose),
      );
    }
    await waitForHealth(`${baseUrl}/health`, "ok", children[1]!, 90_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, apiKey, inferenceUrl, stop };
}

function launch(name: string, args: string[], env: Record<string, string>, verbose = false, cwd = REPO_ROOT): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", verbose ? "inherit" : "pipe", verbose ? "inherit" : "pipe"],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split("\n").filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  Object.assign(child, { easelName: name, easelTail: tail });
  return child;
}

async function waitForHealth(url: string, expected: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const name = (child as ChildProcess & { easelName?: string }).easelName ?? "service";
  for (;;) {
    if (child.exitCode !== null) {
      const tail = (child as ChildProcess & { easelTail?: string[] }).easelTail ?? [];
      throw new Error(`${name} exited with code ${child.exitCode}:\n${tail.join("\n")}`);
    }
    try {
      const body = (await (await fetch(url, { signal: AbortSignal.timeout(2000) })).json()) as { status?: string; error?: string };
      if (body.status === expected) return;
      if (body.status === "FAILED") throw new Error(`${name} failed to start: ${body.error}`);
    } catch (error) {
      if ((error as Error).message.includes("failed to start")) throw error;
    }
    if (Date.now() > deadline) throw new Error(`${name} was not healthy at ${url} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
