import { isTrue, jobRetentionMs, parseBackends, parseGatewayEnv } from "../env.ts";
import { HttpInferenceClient } from "../inference/client.ts";
import { JobsService } from "../jobs/service.ts";
import type { JobStore } from "../jobs/store.ts";
import { literalAddressPolicy, standardWebhookSigner } from "../jobs/webhooks.ts";
import { createLogger } from "../logger.ts";
import type { WorkerEnv } from "./env.ts";

/** The JobsService of the Workers runtime over a given store (the DO's own, or a proxy to it). */
export function buildJobsService(
  env: WorkerEnv,
  store: JobStore,
  concurrencyOf: (keyId: string) => number = () => 4,
) {
  const config = parseGatewayEnv(env as unknown as Record<string, unknown>);
  const inference = new HttpInferenceClient({
    backends: parseBackends(config.EASEL_INFERENCE_URLS),
    secret: config.EASEL_SHARED_SECRET,
    timeoutMs: config.EASEL_INFERENCE_TIMEOUT_MS,
  });
  return {
    config,
    inference,
    service: new JobsService({
      store,
      inference,
      logger: createLogger(),
      concurrencyOf,
      webhookSigner: config.EASEL_WEBHOOK_SECRET
        ? standardWebhookSigner(config.EASEL_WEBHOOK_SECRET)
        : null,
      webhookPolicy: literalAddressPolicy(isTrue(config.EASEL_ALLOW_PRIVATE_WEBHOOKS)),
      publicUrl: config.EASEL_PUBLIC_URL ?? "",
      retentionMs: jobRetentionMs(config),
    }),
  };
}
