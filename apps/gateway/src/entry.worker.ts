import type { Hono } from "hono";
import { createApp, type GatewayEnv } from "./app.ts";
import { parseOrigins } from "./env.ts";
import type { JobStore } from "./jobs/store.ts";
import { KeyStore, parseKeys } from "./keys/keys.ts";
import { createLogger } from "./logger.ts";
import { inferenceModels } from "./models.ts";
import type { RateLimiter } from "./ratelimit/limiter.ts";
import type { WorkerEnv } from "./worker/env.ts";
import { buildJobsService } from "./worker/services.ts";

export { JobsDurableObject } from "./worker/jobs-object.ts";
export { RateLimiterDurableObject } from "./worker/rate-limiter-object.ts";

/**
 * The Workers entry: builds the dependencies from bindings and secrets (rate limits in one Durable
 * Object per key, jobs in a Durable Object) once per isolate, and hands requests to the same app
 * as Node. Nothing else lives here.
 */
let app: Promise<Hono<GatewayEnv>> | null = null;

async function build(env: WorkerEnv, origin: string): Promise<Hono<GatewayEnv>> {
  const apiKeys = await parseKeys(env.EASEL_API_KEYS ?? "[]");
  const concurrency = new Map(apiKeys.map((k) => [k.id, k.limits.concurrentJobs]));
  const jobsObject = () => env.JOBS.get(env.JOBS.idFromName("jobs"));
  const store: JobStore = {
    claimIdempotency: (keyId, key, hash) => jobsObject().claimIdempotency(keyId, key, hash),
    finishIdempotency: (keyId, key, jobId) => jobsObject().finishIdempotency(keyId, key, jobId),
    releaseIdempotency: (keyId, key) => jobsObject().releaseIdempotency(keyId, key),
    save: (job) => jobsObject().save(job),
    delete: (keyId, jobId) => jobsObject().delete(keyId, jobId),
    get: (keyId, jobId) => jobsObject().get(keyId, jobId),
    list: (keyId, limit, cursor) => jobsObject().list(keyId, limit, cursor),
    countActive: (keyId) => jobsObject().countActive(keyId),
    pending: () => jobsObject().pending(),
    expire: (cutoffMs) => jobsObject().expire(cutoffMs),
  };
  const limiter: RateLimiter = {
    take: (key, policy) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key)).take(policy),
  };
  const { config, inference, service } = buildJobsService(
    { ...env, EASEL_PUBLIC_URL: env.EASEL_PUBLIC_URL ?? origin },
    store,
    (keyId) => concurrency.get(keyId) ?? 1,
  );
  return createApp({
    keys: new KeyStore(apiKeys),
    limiter,
    jobs: service,
    models: inferenceModels(inference),
    logger: createLogger(),
    corsOrigins: parseOrigins(config.EASEL_CORS_ORIGINS),
    generateWaitS: config.EASEL_GENERATE_WAIT_S,
  });
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    app ??= build(env, new URL(request.url).origin).catch((error: unknown) => {
      app = null;
      throw error;
    });
    return (await app).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<WorkerEnv>;
