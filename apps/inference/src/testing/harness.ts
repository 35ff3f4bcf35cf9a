import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { signRequest } from "@easel/schema";
import { freePort } from "@easel/storage/testing";

export const TEST_SECRET = "test-secret-0123456789abcdef";
const APP_DIR = resolve(import.meta.dirname, "../..");

export interface RunningService {
  url: string;
  port: number;
  stateDir: string;
  process: ChildProcess;
  /** Everything the service printed on stdout and stderr (JSON log lines), in arrival order. */
  logs: string[];
  /** Only what it printed on stdout. */
  stdout: string[];
  /** Sends a signal and waits for the process to exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /** A folder from an earlier run (its `state/` is the journal): restarts resume its work. */
  stateDir?: string;
  port?: number;
  /** The process is SIGKILLed after this long whatever happens. Default 10 minutes. */
  maxLifetimeMs?: number;
  /** Resolve as soon as /health answers at all, not only when it says READY. Default false. */
  returnWhenListening?: boolean;
  /** Called with every /health answer while waiting (status code and body). */
  onHealth?: (status: number, body: { status: string; error?: string }) => void;
  /** How long to wait for READY. Default 60 s. */
  readyTimeoutMs?: number;
}

/**
 * Starts the real inference service (`src/main.ts`) on 127.0.0.1 with the given environment and
 * waits until /health says READY. The process is killed after `maxLifetimeMs` whatever happens.
 *
 * @example
 * const service = await startService({ EASEL_MODELS: `tiny=${fixtureDir}` });
 * const response = await signedFetch(service.url, "GET", "/v1/models");
 * await service.stop();
 */
export async function startService(
  env: Record<string, string> = {},
  {
    stateDir,
    port,
    maxLifetimeMs = 600_000,
    returnWhenListening = false,
    onHealth,
    readyTimeoutMs = 60_000,
  }: StartOptions = {},
): Promise<RunningService> {
  const dir = stateDir ?? (await mkdtemp(join(tmpdir(), "easel-inference-")));
  const chosenPort = port ?? (await freePort());
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      EASEL_HOST: "127.0.0.1",
      EASEL_PORT: String(chosenPort),
      EASEL_SHARED_SECRET: TEST_SECRET,
      EASEL_STATE_DIR: join(dir, "state"),
      EASEL_STORE_DIR: join(dir, "images"),
      EASEL_THREADS: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), maxLifetimeMs);
  killer.unref();
  const logs: string[] = [];
  const stdout: string[] = [];
  const lines = (chunk: Buffer) => chunk.toString().split("\n").filter(Boolean);
  child.stdout?.setEncoding("utf8");
  let partial = "";
  child.stdout?.on("data", (chunk: string) => {
    // Lines may be split across chunks: keep the unfinished tail for the next one.
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    const complete = parts.filter(Boolean);
    stdout.push(...complete);
    logs.push(...complete);
  });
  child.stderr?.on("data", (chunk: Buffer) => logs.push(...lines(chunk)));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${chosenPort}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`inference exited with ${child.exitCode}:\n${logs.join("\n")}`);
    let health: { status: string; error?: string } | undefined;
    try {
      const response = await fetch(`${url}/health`);
      health = (await response.json()) as { status: string; error?: string };
      onHealth?.(response.status, health);
    } catch {
      // not listening yet
    }
    if (health && returnWhenListening) break;
    if (health?.status === "READY") break;
    if (health?.status === "FAILED") {
      child.kill("SIGKILL");
      throw new Error(`inference FAILED: ${health.error}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`inference not READY within ${readyTimeoutMs} ms:\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url,
    port: chosenPort,
    stateDir: dir,
    process: child,
    logs,
    stdout,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

/** A signed request to the inference service. */
export async function signedFetch(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  {
    secret = TEST_SECRET,
    headers = {},
  }: { secret?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  const signature = await signRequest({ method, path, body: text, secret });
  return fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(text ? { "content-type": "application/json" } : {}), ...signature, ...headers },
    ...(text ? { body: text } : {}),
  });
}
