import { z } from "zod";

/** Hard limits of the public API. The pipeline applies model-specific ones (token count, VAE factor). */
export const LIMITS = {
  promptMaxChars: 1000,
  sizeMin: 64,
  sizeMax: 1024,
  sizeMultiple: 8,
  stepsMin: 1,
  stepsMax: 150,
  guidanceMax: 30,
  imagesMax: 4,
  seedMax: 4_294_967_295,
  /** Largest request body accepted anywhere (an img2img source image travels inside it). */
  bodyMaxBytes: 8 * 1024 * 1024,
} as const;

/** Scheduler names accepted on the wire (the pipeline's registry aliases). */
export const SCHEDULERS = [
  "ddim",
  "ddpm",
  "pndm",
  "lms",
  "euler",
  "euler-a",
  "heun",
  "dpm++2m",
  "dpm++2m-karras",
  "unipc",
  "lcm",
] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

export const OUTPUT_FORMATS = ["png", "webp", "jpeg"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const size = z.int().min(LIMITS.sizeMin).max(LIMITS.sizeMax).multipleOf(LIMITS.sizeMultiple);

// A lone surrogate has no UTF-8 form: the tokenizer and the idempotency hash would both see
// U+FFFD, so "a\ud800" and "a\ufffd" would be one prompt and one Idempotency-Key body.
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);
const WELL_FORMED = { message: "must be well-formed Unicode (no lone surrogates)" };

/** A prompt: non-empty after trimming, bounded, well-formed, no control characters but whitespace. */
export const promptSchema = z
  .string()
  .max(LIMITS.promptMaxChars)
  .refine((s) => s.trim().length > 0, { message: "must not be empty" })
  .refine(wellFormed, WELL_FORMED)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), {
    message: "must not contain control characters",
  });

/**
 * What a client asks to generate, in the snake_case of the wire (Cog/OpenAI style). Omitted fields
 * take the model's defaults in the inference service.
 */
export const generationInputSchema = z.strictObject({
  prompt: promptSchema,
  negative_prompt: z.string().max(LIMITS.promptMaxChars).refine(wellFormed, WELL_FORMED).optional(),
  width: size.optional(),
  height: size.optional(),
  steps: z.int().min(LIMITS.stepsMin).max(LIMITS.stepsMax).optional(),
  guidance_scale: z.number().min(0).max(LIMITS.guidanceMax).optional(),
  scheduler: z.enum(SCHEDULERS).optional(),
  seed: z.int().min(0).max(LIMITS.seedMax).optional(),
  num_images: z.int().min(1).max(LIMITS.imagesMax).optional(),
  /** Source image for image-to-image: base64 PNG/JPEG, optionally as a data URL. */
  image: z.string().max(LIMITS.bodyMaxBytes).optional(),
  strength: z.number().gt(0).max(1).optional(),
  output_format: z.enum(OUTPUT_FORMATS).optional(),
});
export type GenerationInput = z.infer<typeof generationInputSchema>;
