import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { freePort } from "@easel/storage/testing";

/** A real redis-server on 127.0.0.1 for tests: no persistence, gone when stopped. */
export interface RedisTestServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Path of redis-server on PATH (or /usr/bin), or `null` when it is not installed. */
export function findRedisServer(): string | null {
  const dirs = [...(process.env["PATH"] ?? "").split(":"), "/usr/bin", "/usr/local/bin"];
  for (const dir of dirs) {
    const candidate = `${dir}/redis-server`;
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * Starts redis-server on a free port of 127.0.0.1 with persistence off (`--save ""
 * --appendonly no`) and waits until it answers PING. The server runs under `timeout`, so it stops
 * by itself after `maxLifetimeS` even if the test process dies without calling `stop()`.
 *
 * @example
 * const redis = await startRedisTestServer();
 * try { new Redis(redis.url) ... } finally { await redis.stop(); }
 */
export async function startRedisTestServer({ maxLifetimeS = 600 } = {}): Promise<RedisTestServer> {
  const binary = findRedisServer();
  if (!binary)
    throw new Error("redis-server not found on PATH: install it (apt-get install redis-server)");
  const port = await freePort();
  const child: ChildProcess = spawn(
    "timeout",
    [
      String(maxLifetimeS),
      binary,
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "yes",
      "--loglevel",
      "warning",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`redis-server exited with ${child.exitCode}: ${stderr}`);
    if (await answersPing(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer PING on port ${port} within 10 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

async function answersPing(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}
