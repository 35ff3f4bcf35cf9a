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
  /** Everything the service printed (JSON log lines). */
  logs: string[];
  /** Sends a signal and waits for the process to exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the real inference service (`src/main.ts`) on 127.0.0.1 with the given environment and
 * waits until /health says READY. The process is killed after `maxLifetimeMs` whatever happens.
 */
export async function startService(
  env: Record<string, string> = {},
  {
    stateDir,
    port,
    maxLifetimeMs = 600_000,
  }: { stateDir?: string; port?: number; maxLifetimeMs?: number } = {},
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
  const collect = (chunk: Buffer) => logs.push(...chunk.toString().split("\n").filter(Boolean));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${chosenPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`inference exited with ${child.exitCode}:\n${logs.join("\n")}`);
    try {
      const health = (await (await fetch(`${url}/health`)).json()) as {
        status: string;
        error?: string;
      };
      if (health.status === "READY") break;
      if (health.status === "FAILED") throw new Error(`inference FAILED: ${health.error}`);
    } catch (error) {
      if ((error as Error).message.startsWith("inference FAILED")) throw error;
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`inference not READY within 60 s:\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port: chosenPort,
    stateDir: dir,
    process: child,
    logs,
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
