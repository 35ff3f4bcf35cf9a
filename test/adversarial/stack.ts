import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type RunningStack, startStack } from "@easel/stack";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** The tiny SD fixture: the real pipeline on a model small enough for tests. */
export const TINY_MODEL = resolve(REPO_ROOT, "packages/pipeline/fixtures/tiny-sd");

export interface TestKey {
  id: string;
  token: string;
  limits?: { requests: number; windowSeconds: number; concurrentJobs: number };
}

export interface TestStack extends RunningStack {
  /** HMAC secret shared by the gateway and inference, for starting more gateways. */
  secret: string;
  /** The gateway environment, for starting more gateways against the same inference. */
  gatewayEnv: Record<string, string>;
  dataDir: string;
}

/** A fresh API key token. */
export const newToken = (prefix = "sk-test") => `${prefix}-${randomBytes(18).toString("hex")}`;

/**
 * The real stack (inference with the tiny model + the gateway on Node or workerd) with our own
 * keys, secret and CORS origins, in a temporary data directory that is removed on stop (so
 * Durable Object and rate-limit state never leak between runs).
 */
export async function startTestStack({
  worker = false,
  keys,
  gatewayEnv = {},
}: {
  worker?: boolean;
  keys: TestKey[];
  gatewayEnv?: Record<string, string>;
}): Promise<TestStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "easel-gw-test-"));
  const secret = randomBytes(24).toString("hex");
  const env = {
    EASEL_API_KEYS: JSON.stringify(
      keys.map((k) => ({
        id: k.id,
        name: k.id,
        token: k.token,
        ...(k.limits && { limits: k.limits }),
      })),
    ),
    EASEL_SHARED_SECRET: secret,
    ...gatewayEnv,
  };
  try {
    const stack = await startStack({
      worker,
      dataDir,
      inferenceEnv: { EASEL_MODELS: `tiny=${TINY_MODEL}`, EASEL_SHARED_SECRET: secret },
      gatewayEnv: env,
    });
    return {
      ...stack,
      secret,
      dataDir,
      gatewayEnv: { ...env, EASEL_INFERENCE_URLS: stack.inferenceUrl },
      async stop() {
        await stack.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
