import type { JobsDurableObject } from "./jobs-object.ts";
import type { RateLimiterDurableObject } from "./rate-limiter-object.ts";

/** Bindings, vars and secrets of the Workers entry (see wrangler.jsonc). */
export interface WorkerEnv {
  RATE_LIMITER: DurableObjectNamespace<RateLimiterDurableObject>;
  JOBS: DurableObjectNamespace<JobsDurableObject>;
  EASEL_API_KEYS?: string;
  EASEL_INFERENCE_URLS: string;
  EASEL_SHARED_SECRET: string;
  EASEL_CORS_ORIGINS?: string;
  EASEL_WEBHOOK_SECRET?: string;
  EASEL_ALLOW_PRIVATE_WEBHOOKS?: string;
  EASEL_PUBLIC_URL?: string;
  EASEL_GENERATE_WAIT_S?: string;
  EASEL_INFERENCE_TIMEOUT_MS?: string;
  EASEL_JOB_RETENTION_HOURS?: string;
}
