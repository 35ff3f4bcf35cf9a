/**
 * @easel/pipeline: Stable Diffusion on onnxruntime-node, in TypeScript.
 *
 * @example
 * import { loadPipeline, encodeResultImages } from "@easel/pipeline";
 * const pipe = await loadPipeline("models/sd15-onnx");
 * const result = await pipe.generate({ prompt: "a lighthouse at dusk", steps: 20, seed: 42 });
 * const [png] = encodeResultImages(result); // PNG with the parameters embedded
 */

export {
  ExecutionProviderError,
  InvalidParameterError,
  ModelLoadError,
  PipelineAbortedError,
  PipelineError,
  type PipelineErrorOptions,
} from "./errors/index.ts";
export {
  type DecodedImage,
  type DecodedPng,
  type DecodeImageOptions,
  decodeImage,
  decodeJpeg,
  decodePng,
  decodeWebp,
  type EncodeImageOptions,
  encodeImage,
  encodeJpeg,
  encodePng,
  encodeWebp,
  formatParameters,
  fromFloatNCHW,
  type GenerationParameters as MetadataParameters,
  IMAGE_MIME_TYPES,
  ImageCodecError,
  type ImageFormat,
  parametersText,
  type RgbImage,
  resizeRgb,
  sniffImageFormat,
  toFloatNCHW,
} from "./image/index.ts";
export type { ModelLayout } from "./models/layout.ts";
export { DEFAULT_VAE_SCALING_FACTOR, type ModelInfo } from "./models/load.ts";
export { readServingDefaults, type ServingDefaults } from "./models/serving-defaults.ts";
export type { ExecutionProvider, SessionOptions } from "./models/session.ts";
export { type EncodeResultOptions, encodeResultImages, pngTextFor } from "./pipelines/output.ts";
export {
  loadPipeline,
  type PipelineOptions,
  StableDiffusionPipeline,
} from "./pipelines/stable-diffusion.ts";
export type {
  BatchOptions,
  BatchProgressEvent,
  GenerateRequest,
  GenerateResult,
  GenerationMode,
  GenerationParameters,
  ProgressCallback,
  ProgressEvent,
  StageTimings,
} from "./pipelines/types.ts";
export { DEFAULTS, LIMITS } from "./pipelines/validate.ts";
export { RandomState } from "./random/numpy.ts";
export { createScheduler, SCHEDULER_NAMES } from "./schedulers/registry.ts";
export type { NoiseSource, Scheduler } from "./schedulers/types.ts";
export { type Tensor, tensor, zeros } from "./tensor/index.ts";
export { ClipTokenizer } from "./tokenizer/clip.ts";
