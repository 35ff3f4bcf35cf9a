import { z } from "zod";
import { FAILURE_CODES } from "./errors.ts";
import { generationInputSchema } from "./generation.ts";

export const PREDICTION_STATUSES = [
  "queued",
  "processing",
  "succeeded",
  "failed",
  "canceled",
] as const;
export type PredictionStatus = (typeof PREDICTION_STATUSES)[number];
export const TERMINAL_STATUSES: readonly PredictionStatus[] = ["succeeded", "failed", "canceled"];

/** Prediction ids are chosen by the caller (idempotency): URL-safe, bounded. */
export const predictionIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, { message: "must contain only letters, digits, '_' and '-'" });

export const createPredictionSchema = z.strictObject({
  model: z.string().min(1).max(128).optional(),
  input: generationInputSchema,
});
export type CreatePrediction = z.infer<typeof createPredictionSchema>;

export const storedImageSchema = z.object({
  key: z.string(),
  format: z.enum(["png", "webp", "jpeg"]),
  width: z.int(),
  height: z.int(),
  seed: z.int(),
  bytes: z.int(),
  /** Presigned GET URL (S3 stores) or a path the service serves (local stores). */
  url: z.string().optional(),
  expires_at: z.string().optional(),
});
export type StoredImage = z.infer<typeof storedImageSchema>;

export const predictionSchema = z.object({
  id: predictionIdSchema,
  model: z.string(),
  status: z.enum(PREDICTION_STATUSES),
  input: generationInputSchema,
  seed: z.int(),
  output: z.object({ images: z.array(storedImageSchema) }).nullable(),
  error: z.object({ code: z.enum(FAILURE_CODES), message: z.string() }).nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  /** Position in the queue while queued (0 = next). */
  queue_position: z.int().nullable(),
  progress: z.object({ step: z.int(), total: z.int() }).nullable(),
  metrics: z.object({
    queue_ms: z.number().nullable(),
    predict_ms: z.number().nullable(),
    total_ms: z.number().nullable(),
    batch_size: z.int().nullable(),
  }),
});
export type Prediction = z.infer<typeof predictionSchema>;

/** Server-sent events of a prediction, in the order they happen. `data` is JSON. */
export const predictionEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("queued"), position: z.int() }),
  z.object({ type: z.literal("started") }),
  z.object({ type: z.literal("progress"), step: z.int(), total: z.int() }),
  z.object({ type: z.literal("preview"), step: z.int(), image: z.string() }),
  z.object({ type: z.literal("succeeded"), prediction: predictionSchema }),
  z.object({ type: z.literal("failed"), prediction: predictionSchema }),
  z.object({ type: z.literal("canceled"), prediction: predictionSchema }),
]);
export type PredictionEvent = z.infer<typeof predictionEventSchema>;
