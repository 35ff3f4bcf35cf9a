import type { RgbImage } from "../image/types.ts";

/** What a progress callback receives after each denoising step. */
export interface ProgressEvent {
  /** Steps completed so far, 1-based (the last event has `step === total`). */
  readonly step: number;
  /** UNet evaluations in this run (the scheduler's timesteps: steps for most schedulers, about 2x for Heun, fewer for img2img). */
  readonly total: number;
  /** The timestep just denoised. */
  readonly timestep: number;
  /** Milliseconds since the call started. */
  readonly elapsedMs: number;
  /** Low-resolution preview of the request's first image (latent resolution), when `preview` was asked for. */
  readonly preview?: RgbImage;
}

/** Called after each denoising step. Exceptions thrown by it abort the generation. */
export type ProgressCallback = (event: ProgressEvent) => void;

/** One text-to-image, image-to-image or inpainting request. */
export interface GenerateRequest {
  /** What to draw: 1 to 75 CLIP tokens. */
  prompt: string;
  /** What to steer away from (used only when guidanceScale > 1); default "". */
  negativePrompt?: string;
  /** Images for this prompt, 1 to 8; default 1. All come from the same seed, drawn in one call as diffusers does. */
  numImages?: number;
  /** Pixels, a multiple of the VAE factor in [factor, 2048]; default the model's sample size (or the input image's width floored to the factor). */
  width?: number;
  /** Pixels, a multiple of the VAE factor in [factor, 2048]; default the model's sample size (or the input image's height floored to the factor). */
  height?: number;
  /** Denoising steps, an integer in [1, 150]; default 25. */
  steps?: number;
  /** Classifier-free guidance scale in [0, 30]; guidance is skipped at <= 1. Default 7.5. */
  guidanceScale?: number;
  /** Scheduler class name or alias ("euler", "dpm++2m-karras", ...); default the model's scheduler_config.json. */
  scheduler?: string;
  /** Integer in [0, 2^32 - 1]; default a random one (echoed in the result). */
  seed?: number;
  /** DDIM's eta in [0, 1]; default 0. Ignored by other schedulers. */
  eta?: number;
  /** Start image for image-to-image or inpainting (needs the model's vae_encoder). */
  image?: RgbImage;
  /** How much of `image` to replace, in (0, 1]; default 0.8. Image-to-image only. */
  strength?: number;
  /** Inpainting mask, same size as `image`: white = repaint, black = keep. Needs an inpainting UNet. */
  mask?: RgbImage;
  /** Called after every step. */
  onProgress?: ProgressCallback;
  /** Stops the generation between steps with a PipelineAbortedError. */
  signal?: AbortSignal;
  /** Attach a cheap latent preview to progress events; default false. */
  preview?: boolean;
}

/** What kind of generation a request is. */
export type GenerationMode = "txt2img" | "img2img" | "inpaint";

/** The settings a result was produced with (all defaults filled in). */
export interface GenerationParameters {
  readonly mode: GenerationMode;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly numImages: number;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly guidanceScale: number;
  /** diffusers class name of the scheduler used. */
  readonly scheduler: string;
  readonly seed: number;
  readonly eta: number;
  /** Image-to-image strength (undefined otherwise). */
  readonly strength: number | undefined;
  /** The model folder's name. */
  readonly model: string;
}

/**
 * Wall-clock milliseconds per stage. In a batch every result carries the batch's timings (the
 * stages are shared). `onnxMs` is the time inside onnxruntime's `run`, so `totalMs - onnxMs` is
 * the pipeline's own overhead.
 */
export interface StageTimings {
  tokenizeMs: number;
  textEncoderMs: number;
  /** VAE encoder (image-to-image and inpainting), 0 otherwise. */
  vaeEncodeMs: number;
  /** All UNet calls. */
  unetMs: number;
  /** Each UNet call, in order. */
  unetCallsMs: number[];
  /** Scheduler work: scaleModelInput + step (+ guidance combine) over all steps. */
  schedulerMs: number;
  vaeDecodeMs: number;
  /** Time spent rendering previews. */
  previewMs: number;
  /** Image encoding, filled in by {@link encodeResultImages} when called. */
  encodeMs?: number;
  totalMs: number;
  onnxMs: number;
}

/** The outcome of one request. */
export interface GenerateResult {
  readonly images: RgbImage[];
  /** The seed used (the given one or the random default). */
  readonly seed: number;
  readonly timings: StageTimings;
  readonly parameters: GenerationParameters;
}

/** A batch's progress event: the step plus, when asked for, one preview per request. */
export interface BatchProgressEvent extends ProgressEvent {
  /** `previews[i]` previews request i's first image (only with `BatchOptions.previews`). */
  readonly previews?: RgbImage[];
}

/** Options of `generateBatch` that apply to the whole batch. */
export interface BatchOptions {
  /** Called after every step of the batch. */
  onProgress?: (event: BatchProgressEvent) => void;
  /** Attach one latent preview per request to the batch's progress events; default false. */
  previews?: boolean;
  /** Aborts the whole batch between steps. */
  signal?: AbortSignal;
}
