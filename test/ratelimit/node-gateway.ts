import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@easel/storage/testing";
import { REPO_ROOT } from "../adversarial/stack.ts";

export interface NodeGateway {
  baseUrl: string;
  /** The gateway's log lines so far. */
  logs: string[];
  stop(): Promise<void>;
}

/**
 * One more Node gateway process (apps/gateway/src/entry.node.ts) with the given environment, on a
 * free port of 127.0.0.1 and its own job directory; resolves once /health answers.
 */
export async function startNodeGateway(env: Record<string, string>): Promise<NodeGateway> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), "easel-gw2-"));
  const baseUrl = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "apps/gateway/src/entry.node.ts"],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...env,
        HOST: "127.0.0.1",
        PORT: String(port),
        EASEL_PUBLIC_URL: baseUrl,
        EASEL_GATEWAY_DATA_DIR: dataDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: string[] = [];
  const keep = (chunk: Buffer) => logs.push(...chunk.toString().split("\n").filter(Boolean));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`gateway exited with ${child.exitCode}:\n${logs.slice(-20).join("\n")}`);
    }
    try {
      if ((await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`gateway not healthy within 60 s:\n${logs.slice(-20).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { baseUrl, logs, stop };
}
