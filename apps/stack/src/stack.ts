import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { freePort } from "@easel/storage/testing";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const WRANGLER = resolve(REPO_ROOT, "apps/gateway/node_modules/wrangler/bin/wrangler.js");

/** The two services of a local stack; each can be stopped and started again on its own. */
export type StackService = "inference" | "gateway";

/** Per-key limits, as the gateway reads them from EASEL_API_KEYS. */
export interface StackKeyLimits {
  requests: number;
  windowSeconds: number;
  concurrentJobs: number;
}

/** An extra API key for the gateway; its token is generated and returned in `tokens[id]`. */
export interface StackKey {
  id: string;
  limits: StackKeyLimits;
}

export interface StackOptions {
  /** Run the gateway under `wrangler dev` (workerd) instead of Node. Default false. */
  worker?: boolean;
  /** Fixed ports (`up`); free ports are picked otherwise. */
  gatewayPort?: number;
  inferencePort?: number;
  /**
   * Where images, prediction state and job records live (`inference/`, `images/`, `gateway/`,
   * `wrangler/`). Default `.easel/` in the repository.
   */
  dataDir?: string;
  /** Extra environment for the inference service (EASEL_MODELS, EASEL_S3_*...). */
  inferenceEnv?: Record<string, string>;
  /** Extra environment for the gateway (EASEL_CORS_ORIGINS, EASEL_WEBHOOK_SECRET...). */
  gatewayEnv?: Record<string, string>;
  /** Keys besides the default `local` one (600 requests/min, 16 concurrent jobs). */
  keys?: readonly StackKey[];
  /** Forward the services' logs to stderr. Default false (the last lines appear in errors). */
  verbose?: boolean;
  /** Longest wait for inference to load its models and turn READY, ms. Default 180 000. */
  inferenceStartTimeoutMs?: number;
}

export interface RunningStack {
  /** The gateway, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** Token of the default `local` key. */
  apiKey: string;
  /** Tokens of every key by id, `local` included. */
  tokens: Readonly<Record<string, string>>;
  inferenceUrl: string;
  runtime: "node" | "workerd";
  dataDir: string;
  /** Stops one service (SIGTERM, then SIGKILL after 10 s). */
  stopService(service: StackService): Promise<void>;
  /** Starts a stopped service again on the same port with the same settings and data. */
  startService(service: StackService): Promise<void>;
  restartService(service: StackService): Promise<void>;
  /** The last lines a service logged (for failure messages). */
  logs(service: StackService): string[];
  stop(): Promise<void>;
}

/**
 * Starts inference (CPU, embedded model, local image directory unless `inferenceEnv` says S3) and
 * the gateway (Node, or workerd through `wrangler dev`), waits until both are healthy, and returns
 * the gateway's URL and fresh API keys. Everything listens on 127.0.0.1.
 *
 * @example
 * const stack = await startStack();
 * const easel = createEaselClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
 * await stack.stop();
 */
export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const dataDir = resolve(options.dataDir ?? resolve(REPO_ROOT, ".easel"));
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(24).toString("hex");
  const tokens: Record<string, string> = {};
  const keys = [
    { id: "local", limits: { requests: 600, windowSeconds: 60, concurrentJobs: 16 } },
    ...(options.keys ?? []),
  ].map(({ id, limits }) => {
    if (tokens[id] !== undefined) throw new TypeError(`startStack: duplicate key id ${id}`);
    tokens[id] = `sk-local-${randomBytes(18).toString("hex")}`;
    return { id, name: id, token: tokens[id], limits };
  });
  const inferencePort = options.inferencePort ?? (await freePort());
  const gatewayPort = options.gatewayPort ?? (await freePort());
  const inferenceUrl = `http://127.0.0.1:${inferencePort}`;
  const baseUrl = `http://127.0.0.1:${gatewayPort}`;
  const verbose = options.verbose ?? false;

  const inference = new Service(
    "inference",
    {
      args: ["--import", "tsx", "apps/inference/src/main.ts"],
      env: {
        EASEL_HOST: "127.0.0.1",
        EASEL_PORT: String(inferencePort),
        EASEL_SHARED_SECRET: secret,
        EASEL_STATE_DIR: resolve(dataDir, "inference"),
        EASEL_STORE_DIR: resolve(dataDir, "images"),
        ...options.inferenceEnv,
      },
      cwd: REPO_ROOT,
      health: { url: `${inferenceUrl}/health`, status: ["READY", "BUSY"] },
      timeoutMs: options.inferenceStartTimeoutMs ?? 180_000,
    },
    verbose,
  );
  const gatewayEnv: Record<string, string> = {
    EASEL_API_KEYS: JSON.stringify(keys),
    EASEL_INFERENCE_URLS: inferenceUrl,
    EASEL_SHARED_SECRET: secret,
    EASEL_PUBLIC_URL: baseUrl,
    ...options.gatewayEnv,
  };
  const health = { url: `${baseUrl}/health`, status: ["ok"] };
  const gateway = options.worker
    ? new Service(
        "gateway",
        {
          args: [
            WRANGLER,
            "dev",
            "--ip",
            "127.0.0.1",
            "--port",
            String(gatewayPort),
            "--inspector-port",
            String(await freePort()),
            "--persist-to",
            resolve(dataDir, "wrangler"),
            "--show-interactive-dev-session=false",
            ...Object.entries(gatewayEnv).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
          ],
          env: { WRANGLER_SEND_METRICS: "false", CI: "1" },
          cwd: resolve(REPO_ROOT, "apps/gateway"),
          health,
          timeoutMs: 120_000,
        },
        verbose,
      )
    : new Service(
        "gateway",
        {
          args: ["--import", "tsx", "apps/gateway/src/entry.node.ts"],
          env: {
            HOST: "127.0.0.1",
            PORT: String(gatewayPort),
            EASEL_GATEWAY_DATA_DIR: resolve(dataDir, "gateway"),
            ...gatewayEnv,
          },
          cwd: REPO_ROOT,
          health,
          timeoutMs: 90_000,
        },
        verbose,
      );
  const services = { inference, gateway };
  const stop = async () => {
    await Promise.all([gateway.stop(), inference.stop()]);
  };
  try {
    await inference.start();
    await gateway.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    baseUrl,
    apiKey: tokens["local"] ?? "",
    tokens,
    inferenceUrl,
    runtime: options.worker ? "workerd" : "node",
    dataDir,
    stopService: (name) => services[name].stop(),
    startService: (name) => services[name].start(),
    restartService: async (name) => {
      await services[name].stop();
      await services[name].start();
    },
    logs: (name) => [...services[name].tail],
    stop,
  };
}

interface ServiceSpec {
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Healthy once GET `url` answers JSON whose `status` is one of these. */
  health: { url: string; status: readonly string[] };
  timeoutMs: number;
}

/** One child process that can be started, health-checked and stopped repeatedly. */
class Service {
  readonly tail: string[] = [];
  private child: ChildProcess | null = null;

  constructor(
    private readonly name: StackService,
    private readonly spec: ServiceSpec,
    private readonly verbose: boolean,
  ) {}

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    const child = spawn(process.execPath, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ["ignore", this.verbose ? "inherit" : "pipe", this.verbose ? "inherit" : "pipe"],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.tail.push(...chunk.toString().split("\n").filter(Boolean));
      this.tail.splice(0, Math.max(0, this.tail.length - 60));
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
    try {
      await this.waitForHealth(child);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  private async waitForHealth(child: ChildProcess): Promise<void> {
    const { url, status: healthy } = this.spec.health;
    const deadline = Date.now() + this.spec.timeoutMs;
    const logs = () =>
      this.tail.length ? `\n--- last ${this.name} output ---\n${this.tail.join("\n")}` : "";
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${this.name} exited with ${child.exitCode ?? child.signalCode} before it was healthy${logs()}`,
        );
      }
      const body = await fetch(url, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.json() as Promise<{ status?: string; error?: string }>)
        .catch(() => null); // not listening yet
      if (body?.status !== undefined && healthy.includes(body.status)) return;
      if (body?.status === "FAILED")
        throw new Error(
          `${this.name} failed to start: ${body.error ?? "no reason given"}${logs()}`,
        );
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name} was not healthy at ${url} within ${this.spec.timeoutMs / 1000} s${logs()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
