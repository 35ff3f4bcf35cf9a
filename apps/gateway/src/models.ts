import type { ModelsApi } from "@easel/api";
import type { Model } from "@easel/schema";
import type { InferenceClient } from "./inference/client.ts";

/** Models as OpenAI lists them, from the inference backends, cached briefly. */
export function inferenceModels(
  inference: InferenceClient,
  ttlMs = 30_000,
  now = Date.now,
): ModelsApi {
  let cache: { at: number; models: Model[] } | null = null;
  return {
    async list() {
      if (cache && now() - cache.at < ttlMs) return cache.models;
      const models = (await inference.models()).map((m) => ({
        id: m.id,
        object: "model" as const,
        created: 1_764_115_200,
        owned_by: "easel",
        default_width: m.default_width,
        default_height: m.default_height,
        default_steps: m.default_steps,
      }));
      cache = { at: now(), models };
      return models;
    },
  };
}
