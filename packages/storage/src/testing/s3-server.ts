import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";

/** A real S3-compatible server (moto's standalone server) on 127.0.0.1, for tests. */
export interface S3TestServer {
  endpoint: string;
  stop(): Promise<void>;
}

const REPO_ROOT = resolve(import.meta.dirname, "../../../..");

/** Path of moto's server binary: the repo's .venv first, then PATH. `null` when not installed. */
export function findMotoServer(): string | null {
  const venv = resolve(REPO_ROOT, ".venv/bin/moto_server");
  if (existsSync(venv)) return venv;
  for (const dir of (process.env["PATH"] ?? "").split(":")) {
    const candidate = resolve(dir, "moto_server");
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return await new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

/**
 * Starts moto's S3 server on 127.0.0.1 and waits until it answers. It is wrapped in `timeout` so it
 * stops by itself even if the test process is killed.
 */
export async function startS3TestServer({ maxLifetimeS = 900 } = {}): Promise<S3TestServer> {
  const moto = findMotoServer();
  if (!moto)
    throw new Error(
      "moto_server not found: run scripts/test.sh (it installs moto[server] into .venv)",
    );
  const port = await freePort();
  const child: ChildProcess = spawn(
    "timeout",
    [String(maxLifetimeS), moto, "-H", "127.0.0.1", "-p", String(port)],
    {
      stdio: "ignore",
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null)
      throw new Error(`moto_server exited early with code ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`moto_server did not answer on ${endpoint} within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
