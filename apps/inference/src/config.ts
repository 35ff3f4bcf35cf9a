import { resolve } from "node:path";
import { type StoreConfig, storeConfigFromEnv } from "@easel/storage";
import { z } from "zod";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");

/** The embedded Shapes model, the default of every command. */
export const DEFAULT_MODEL = {
  name: "easel-shapes",
  dir: resolve(REPO_ROOT, "packages/shapes/artifacts/model"),
} as const;

export interface ModelSpec {
  name: string;
  dir: string;
}

export interface InferenceConfig {
  host: string;
  port: number;
  /** Shared HMAC secret with the gateway; requests signed with another are 401. */
  secret: string;
  /** Where prediction records are journaled so that nothing accepted is lost across a crash. */
  stateDir: string;
  models: ModelSpec[];
  defaultModel: string;
  queueCapacity: number;
  maxBatchSize: number;
  batchWaitMs: number;
  batching: boolean;
  deadlineMs: number;
  graceMs: number;
  presignExpiryS: number;
  /** Models whose ONNX files add up to more than this are refused at start. */
  memoryBudgetMb: number;
  intraOpThreads: number | undefined;
  executionProvider: "cpu" | "cuda";
  /** A prediction interrupted by a crash this many times is failed instead of retried. */
  maxAttempts: number;
  /** Finished predictions are forgotten (memory and journal) this long after they end. */
  retentionMs: number;
  /** Include prompt text in logs (off by default: prompts are user data). */
  logPrompts: boolean;
  store: StoreConfig;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(["0", "1", "true", "false"]).transform((v) => v === "1" || v === "true");

const envSchema = z.object({
  EASEL_HOST: z.string().default("127.0.0.1"),
  EASEL_PORT: int(0, 65535).default(8081),
  EASEL_SHARED_SECRET: z.string().min(16, { message: "must be at least 16 characters" }),
  EASEL_STATE_DIR: z.string().default(".easel/inference"),
  EASEL_MODELS: z.string().optional(),
  EASEL_DEFAULT_MODEL: z.string().optional(),
  EASEL_QUEUE_CAPACITY: int(1, 100_000).default(64),
  EASEL_MAX_BATCH: int(1, 64).default(8),
  EASEL_BATCH_WAIT_MS: int(0, 10_000).default(20),
  EASEL_BATCHING: bool.default(true),
  EASEL_DEADLINE_MS: int(1000, 3_600_000).default(300_000),
  EASEL_GRACE_MS: int(0, 600_000).default(30_000),
  EASEL_PRESIGN_EXPIRY_S: int(1, 604_800).default(3600),
  EASEL_MEMORY_BUDGET_MB: int(1, 1_000_000).default(8192),
  EASEL_THREADS: int(1, 256).optional(),
  EASEL_PROVIDER: z.enum(["cpu", "cuda"]).default("cpu"),
  EASEL_MAX_ATTEMPTS: int(1, 10).default(2),
  EASEL_RETENTION_HOURS: int(1, 8760).default(24),
  EASEL_LOG_PROMPTS: bool.default(false),
});

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Reads the service configuration from the environment. `EASEL_MODELS` is a comma-separated list of
 * `name=dir` pairs; without it, the embedded Shapes model is the only one.
 */
export function configFromEnv(env: Record<string, string | undefined>): InferenceConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${issue?.path.join(".")}: ${issue?.message}`);
  }
  const e = parsed.data;
  const models = e.EASEL_MODELS ? parseModels(e.EASEL_MODELS) : [{ ...DEFAULT_MODEL }];
  const defaultModel = e.EASEL_DEFAULT_MODEL ?? models[0]?.name ?? DEFAULT_MODEL.name;
  if (!models.some((m) => m.name === defaultModel)) {
    throw new ConfigError(
      `EASEL_DEFAULT_MODEL: ${defaultModel} is not one of ${models.map((m) => m.name).join(", ")}`,
    );
  }
  return {
    host: e.EASEL_HOST,
    port: e.EASEL_PORT,
    secret: e.EASEL_SHARED_SECRET,
    stateDir: resolve(e.EASEL_STATE_DIR),
    models,
    defaultModel,
    queueCapacity: e.EASEL_QUEUE_CAPACITY,
    maxBatchSize: e.EASEL_MAX_BATCH,
    batchWaitMs: e.EASEL_BATCH_WAIT_MS,
    batching: e.EASEL_BATCHING,
    deadlineMs: e.EASEL_DEADLINE_MS,
    graceMs: e.EASEL_GRACE_MS,
    presignExpiryS: e.EASEL_PRESIGN_EXPIRY_S,
    memoryBudgetMb: e.EASEL_MEMORY_BUDGET_MB,
    intraOpThreads: e.EASEL_THREADS,
    executionProvider: e.EASEL_PROVIDER,
    maxAttempts: e.EASEL_MAX_ATTEMPTS,
    retentionMs: e.EASEL_RETENTION_HOURS * 3_600_000,
    logPrompts: e.EASEL_LOG_PROMPTS,
    store: storeConfigFromEnv(env),
  };
}

function parseModels(value: string): ModelSpec[] {
  return value.split(",").map((pair) => {
    const [name, dir] = pair.split("=");
    if (!name || !dir || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) {
      throw new ConfigError(
        `EASEL_MODELS: expected name=dir pairs with lowercase names, got ${JSON.stringify(pair)}`,
      );
    }
    return { name, dir: resolve(dir) };
  });
}
