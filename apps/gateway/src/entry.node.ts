import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { serve } from "@hono/node-server";
import { Redis } from "ioredis";
import { createApp } from "./app.ts";
import { isTrue, jobRetentionMs, parseBackends, parseGatewayEnv, parseOrigins } from "./env.ts";
import { HttpInferenceClient } from "./inference/client.ts";
import { FileJobStore } from "./jobs/file-store.ts";
import { JobsService } from "./jobs/service.ts";
import { standardWebhookSigner } from "./jobs/webhooks.ts";
import { KeyStore, parseKeys } from "./keys/keys.ts";
import { createLogger } from "./logger.ts";
import { inferenceModels } from "./models.ts";
import { resolvingAddressPolicy } from "./node/address-policy.ts";
import { RedisRateLimiter } from "./node/redis-limiter.ts";
import { sha256HexSync } from "./node/token-hash.ts";
import { MemoryRateLimiter } from "./ratelimit/limiter.ts";

/**
 * The Node entry: builds the dependencies from the environment (keys from EASEL_API_KEYS or
 * EASEL_API_KEYS_FILE, Redis limits when REDIS_URL is set, jobs in EASEL_GATEWAY_DATA_DIR) and
 * serves the app. Nothing else lives here.
 */
const env = process.env;
const config = parseGatewayEnv(env);
const logger = createLogger();
const keysJson = env["EASEL_API_KEYS_FILE"]
  ? await readFile(env["EASEL_API_KEYS_FILE"], "utf8")
  : (config.EASEL_API_KEYS ?? "[]");
const apiKeys = await parseKeys(keysJson);
const keys = new KeyStore(apiKeys, sha256HexSync);
if (keys.size === 0) logger.warn("no API keys configured: every request will be 401");
const host = env["HOST"] ?? "127.0.0.1";
const port = Number(env["PORT"] ?? 8787);
const inference = new HttpInferenceClient({
  backends: parseBackends(config.EASEL_INFERENCE_URLS),
  secret: config.EASEL_SHARED_SECRET,
  timeoutMs: config.EASEL_INFERENCE_TIMEOUT_MS,
});
const redis = env["REDIS_URL"]
  ? new Redis(env["REDIS_URL"], { maxRetriesPerRequest: 2, enableOfflineQueue: true })
  : null;
const store = await FileJobStore.open(resolve(env["EASEL_GATEWAY_DATA_DIR"] ?? ".easel/gateway"));
const concurrency = new Map(apiKeys.map((k) => [k.id, k.limits.concurrentJobs]));
const jobs = new JobsService({
  store,
  inference,
  logger,
  concurrencyOf: (keyId) => concurrency.get(keyId) ?? 1,
  webhookSigner: config.EASEL_WEBHOOK_SECRET
    ? standardWebhookSigner(config.EASEL_WEBHOOK_SECRET)
    : null,
  webhookPolicy: resolvingAddressPolicy(isTrue(config.EASEL_ALLOW_PRIVATE_WEBHOOKS)),
  publicUrl: config.EASEL_PUBLIC_URL ?? `http://${host}:${port}`,
  retentionMs: jobRetentionMs(config),
});
const app = createApp({
  keys,
  limiter: redis ? new RedisRateLimiter(redis) : new MemoryRateLimiter(),
  jobs,
  models: inferenceModels(inference),
  logger,
  corsOrigins: parseOrigins(config.EASEL_CORS_ORIGINS),
  generateWaitS: config.EASEL_GENERATE_WAIT_S,
});

const server = serve({ fetch: app.fetch, hostname: host, port }, (info) =>
  logger.info("listening", { host, port: info.port, limiter: redis ? "redis" : "memory" }),
);

let timer: NodeJS.Timeout | undefined;
const reconcile = async () => {
  const next = await jobs.reconcile().catch(() => 5000);
  timer = setTimeout(reconcile, Math.max(250, Math.min(next, 5000)));
};
void reconcile();

// Finished jobs are forgotten after the retention: sleep until the oldest is due, at most an hour
// (a job that finishes meanwhile is due a whole retention later).
let expiryTimer: NodeJS.Timeout | undefined;
const expire = async () => {
  const next = await jobs.expireFinished().catch(() => null);
  const sleep = Math.min(next ?? jobRetentionMs(config), 3_600_000);
  expiryTimer = setTimeout(expire, Math.max(1000, sleep));
  expiryTimer.unref();
};
void expire();

const stop = () => {
  clearTimeout(timer);
  clearTimeout(expiryTimer);
  server.close();
  redis?.disconnect();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
