import { z } from "zod";
import { FAILURE_CODES } from "./errors.ts";
import { generationInputSchema, LIMITS, OUTPUT_FORMATS } from "./generation.ts";

/** Public job states (the gateway's view of an inference prediction). */
export const JOB_STATUSES = ["queued", "processing", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const jobIdSchema = z
  .string()
  .regex(/^job_[A-Za-z0-9]{8,64}$/, { message: "must look like job_<letters and digits>" });

/** Webhook URL: https (or http where configuration allows), no credentials in it. */
export const webhookUrlSchema = z
  .url({ protocol: /^https?$/, normalize: true })
  .max(2048)
  .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), { message: "must not contain credentials" });

export const createJobSchema = z.strictObject({
  model: z.string().min(1).max(128).optional(),
  input: generationInputSchema,
  /** Called once when the job ends, signed with the Standard Webhooks scheme. */
  webhook_url: webhookUrlSchema.optional(),
  /** Return images as base64 in `jobs.get` instead of only URLs. */
  response_format: z.enum(["url", "b64_json"]).optional(),
});
export type CreateJob = z.infer<typeof createJobSchema>;

export const jobImageSchema = z.object({
  format: z.enum(OUTPUT_FORMATS),
  width: z.int(),
  height: z.int(),
  seed: z.int(),
  /** Presigned URL to the object store (or the gateway's file route for local stores). */
  url: z.string().optional(),
  expires_at: z.string().optional(),
  b64_json: z.string().optional(),
});
export type JobImage = z.infer<typeof jobImageSchema>;

export const jobSchema = z.object({
  id: z.string(),
  object: z.literal("job"),
  status: z.enum(JOB_STATUSES),
  model: z.string(),
  input: generationInputSchema,
  seed: z.int().nullable(),
  images: z.array(jobImageSchema),
  error: z.object({ code: z.enum(FAILURE_CODES), message: z.string() }).nullable(),
  progress: z.object({ step: z.int(), total: z.int() }).nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});
export type Job = z.infer<typeof jobSchema>;

export const listJobsSchema = z.strictObject({
  limit: z.int().min(1).max(100).default(20),
  /** Opaque cursor from a previous page's `next_cursor`. */
  cursor: z.string().max(256).optional(),
});

export const jobPageSchema = z.object({
  data: z.array(jobSchema),
  next_cursor: z.string().nullable(),
});
export type JobPage = z.infer<typeof jobPageSchema>;

/** Events of `jobs.events`, in order; ends after a terminal one. */
export const jobEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("queued"), position: z.int() }),
  z.object({ type: z.literal("started") }),
  z.object({ type: z.literal("progress"), step: z.int(), total: z.int() }),
  z.object({ type: z.literal("preview"), step: z.int(), image: z.string() }),
  z.object({ type: z.literal("completed"), job: jobSchema }),
]);
export type JobEvent = z.infer<typeof jobEventSchema>;

export const modelSchema = z.object({
  id: z.string(),
  object: z.literal("model"),
  created: z.int(),
  owned_by: z.string(),
  default_width: z.int().optional(),
  default_height: z.int().optional(),
  default_steps: z.int().optional(),
});
export type Model = z.infer<typeof modelSchema>;

/** OpenAI's `POST /v1/images/generations` body, plus Easel's extensions. */
export const openAiImageRequestSchema = z.strictObject({
  prompt: generationInputSchema.shape.prompt,
  model: z.string().min(1).max(128).optional(),
  n: z.int().min(1).max(LIMITS.imagesMax).optional(),
  size: z
    .string()
    .regex(/^\d{2,4}x\d{2,4}$/, { message: "must be WIDTHxHEIGHT, e.g. 512x512" })
    .optional(),
  response_format: z.enum(["url", "b64_json"]).optional(),
  user: z.string().max(256).optional(),
  quality: z.string().max(32).optional(),
  style: z.string().max(32).optional(),
  negative_prompt: generationInputSchema.shape.negative_prompt,
  steps: generationInputSchema.shape.steps,
  guidance_scale: generationInputSchema.shape.guidance_scale,
  seed: generationInputSchema.shape.seed,
  scheduler: generationInputSchema.shape.scheduler,
});
export type OpenAiImageRequest = z.infer<typeof openAiImageRequestSchema>;
