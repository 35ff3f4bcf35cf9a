import type { RgbImage } from "@easel/pipeline";

/**
 * What the engine needs from a loaded model. The real one wraps `@easel/pipeline`
 * (pipeline-generator.ts); unit tests of the engine use a fake.
 */
export interface ImageGenerator {
  readonly info: ModelInfo;
  /** Rejects with the pipeline's InvalidParameterError (param + limit) for requests this model cannot run. */
  validate(request: GenerateRequest): void | Promise<void>;
  /** Runs requests that share size, steps and scheduler through the same model calls. */
  generateBatch(requests: GenerateRequest[], options: BatchOptions): Promise<GenerateResult[]>;
  dispose(): Promise<void>;
}

export interface ModelInfo {
  name: string;
  defaultWidth: number;
  defaultHeight: number;
  defaultSteps: number;
  defaultGuidance: number;
  defaultScheduler: string;
  /** Width and height must be multiples of this (the VAE downscale factor). */
  sizeMultiple: number;
  supportsImageToImage: boolean;
}

export interface GenerateRequest {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  scheduler: string;
  seed: number;
  numImages: number;
  image?: RgbImage;
  strength?: number;
}

export interface BatchOptions {
  signal: AbortSignal;
  /** Called after every denoising step; `previews[i]` is a small preview for request i when cheap. */
  onStep(step: number, total: number, previews: (RgbImage | undefined)[] | undefined): void;
}

export interface GenerateResult {
  images: RgbImage[];
}
