/**
 * Request validation: every limit is checked, with a message naming the parameter and the limit,
 * before any model runs. A batch is validated as a whole (all requests, then what they must share).
 */
import { InvalidParameterError } from "../errors/index.ts";
import type { RgbImage } from "../image/types.ts";
import type { LoadedModel } from "../models/load.ts";
import { createScheduler, SCHEDULER_NAMES } from "../schedulers/registry.ts";
import type { Scheduler } from "../schedulers/types.ts";
import type { GenerateRequest, GenerationMode } from "./types.ts";

/** Limits of the request parameters. */
export const LIMITS = {
  maxSize: 2048,
  minSteps: 1,
  maxSteps: 150,
  minGuidance: 0,
  maxGuidance: 30,
  maxImages: 8,
  maxSeed: 2 ** 32 - 1,
} as const;

/** Defaults of the optional request parameters. */
export const DEFAULTS = {
  numImages: 1,
  steps: 25,
  guidanceScale: 7.5,
  eta: 0,
  strength: 0.8,
} as const;

/** A request with every default filled in and every value checked. */
export interface ResolvedRequest {
  readonly index: number;
  /** How parameters of this request are named in errors: "" alone, "requests[2]." in a batch. */
  readonly paramPrefix: string;
  readonly request: GenerateRequest;
  readonly mode: GenerationMode;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly numImages: number;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly guidanceScale: number;
  /** diffusers' `do_classifier_free_guidance = guidance_scale > 1.0`. */
  readonly cfg: boolean;
  /** A fresh scheduler for this request (schedulers keep per-run state). */
  readonly scheduler: Scheduler;
  readonly seed: number;
  readonly eta: number;
  readonly strength: number | undefined;
  readonly image: RgbImage | undefined;
  readonly mask: RgbImage | undefined;
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

function isNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function checkInteger(param: string, value: unknown, min: number, max: number): number {
  if (!isNumber(value) || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidParameterError(param, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

function checkRange(param: string, value: unknown, min: number, max: number): number {
  if (!isNumber(value) || value < min || value > max) {
    throw new InvalidParameterError(param, `a number in [${min}, ${max}]`, value);
  }
  return value;
}

function checkImage(param: string, value: unknown): RgbImage {
  const img = value as Partial<RgbImage> | null;
  if (
    typeof img !== "object" ||
    img === null ||
    !Number.isInteger(img.width) ||
    !Number.isInteger(img.height) ||
    (img.width ?? 0) < 1 ||
    (img.height ?? 0) < 1 ||
    !(img.data instanceof Uint8Array) ||
    img.data.length !== (img.width ?? 0) * (img.height ?? 0) * 3
  ) {
    throw new InvalidParameterError(
      param,
      "an RgbImage { width, height, data: Uint8Array of width*height*3 bytes }",
      value,
    );
  }
  return img as RgbImage;
}

function checkSize(param: string, value: unknown, factor: number, only?: number): number {
  if (only !== undefined && value !== only) {
    throw new InvalidParameterError(
      param,
      `${only} (the model's UNet has a fixed input size)`,
      value,
    );
  }
  if (
    !isNumber(value) ||
    !Number.isInteger(value) ||
    value % factor !== 0 ||
    value < factor ||
    value > LIMITS.maxSize
  ) {
    throw new InvalidParameterError(
      param,
      `a multiple of ${factor} in [${factor}, ${LIMITS.maxSize}]`,
      value,
    );
  }
  return value;
}

/**
 * Checks one request against the model and fills in defaults. `prefix` names the request in a
 * batch (`"requests[2]."`), empty for a single request.
 */
export function resolveRequest(
  request: GenerateRequest,
  model: LoadedModel,
  index = 0,
  prefix = "",
): ResolvedRequest {
  const info = model.info;
  const p = (name: string): string => `${prefix}${name}`;
  if (typeof request !== "object" || request === null) {
    throw new InvalidParameterError(
      prefix === "" ? "request" : prefix.slice(0, -1),
      "an object",
      request,
    );
  }
  const { prompt } = request;
  if (typeof prompt !== "string" || prompt.trim() === "") {
    throw new InvalidParameterError(p("prompt"), "a non-empty string", prompt);
  }
  const negativePrompt = request.negativePrompt ?? "";
  if (typeof negativePrompt !== "string") {
    throw new InvalidParameterError(p("negativePrompt"), "a string", negativePrompt);
  }
  const numImages = checkInteger(
    p("numImages"),
    request.numImages ?? DEFAULTS.numImages,
    1,
    LIMITS.maxImages,
  );
  const steps = checkInteger(
    p("steps"),
    request.steps ?? DEFAULTS.steps,
    LIMITS.minSteps,
    LIMITS.maxSteps,
  );
  const guidanceScale = checkRange(
    p("guidanceScale"),
    request.guidanceScale ?? DEFAULTS.guidanceScale,
    LIMITS.minGuidance,
    LIMITS.maxGuidance,
  );
  const eta = checkRange(p("eta"), request.eta ?? DEFAULTS.eta, 0, 1);
  const seed =
    request.seed === undefined
      ? randomSeed()
      : checkInteger(p("seed"), request.seed, 0, LIMITS.maxSeed);

  const image = request.image === undefined ? undefined : checkImage(p("image"), request.image);
  const mask = request.mask === undefined ? undefined : checkImage(p("mask"), request.mask);
  const factor = info.vaeScaleFactor;
  // An input image sets the default size, floored to the VAE factor (diffusers floors to 64).
  const fromImage = (side: number | undefined): number | undefined =>
    side === undefined ? undefined : Math.max(factor, side - (side % factor));
  // A UNet exported with fixed spatial dimensions runs at that one size only.
  const [, , fixedH, fixedW] = model.unet.sample.dims;
  const width = checkSize(
    p("width"),
    request.width ?? fromImage(image?.width) ?? info.sampleSize,
    factor,
    typeof fixedW === "number" ? fixedW * factor : undefined,
  );
  const height = checkSize(
    p("height"),
    request.height ?? fromImage(image?.height) ?? info.sampleSize,
    factor,
    typeof fixedH === "number" ? fixedH * factor : undefined,
  );

  let strength: number | undefined;
  if (request.strength !== undefined || (image !== undefined && mask === undefined)) {
    const s = request.strength ?? DEFAULTS.strength;
    if (!isNumber(s) || s <= 0 || s > 1)
      throw new InvalidParameterError(p("strength"), "a number in (0, 1]", s);
    strength = s;
  }

  let mode: GenerationMode = "txt2img";
  if (mask !== undefined) {
    if (image === undefined) {
      throw new InvalidParameterError(
        p("image"),
        "given when mask is given (inpainting repaints an image)",
      );
    }
    if (mask.width !== image.width || mask.height !== image.height) {
      throw new InvalidParameterError(
        p("mask"),
        `the same size as image (${image.width}x${image.height})`,
        `${mask.width}x${mask.height}`,
      );
    }
    if (!info.isInpaint) {
      throw new InvalidParameterError(
        p("mask"),
        `omitted for model "${info.name}": its UNet takes ${info.unetInChannels} channels, not an inpainting ` +
          `UNet's ${2 * info.latentChannels + 1} (latents + mask + masked-image latents)`,
      );
    }
    mode = "inpaint";
  } else if (image !== undefined) {
    if (info.isInpaint) {
      throw new InvalidParameterError(
        p("mask"),
        `given for model "${info.name}": it is an inpainting model (its UNet takes ${info.unetInChannels} channels)`,
      );
    }
    mode = "img2img";
  } else if (info.isInpaint) {
    throw new InvalidParameterError(
      p("image"),
      `given with a mask for model "${info.name}": it is an inpainting model (its UNet takes ${info.unetInChannels} channels)`,
    );
  }
  if (mode !== "txt2img" && !info.hasVaeEncoder) {
    throw new InvalidParameterError(
      p("image"),
      `omitted for model "${info.name}": it has no vae_encoder/model.onnx, which image-to-image and inpainting need`,
    );
  }
  if (mode === "img2img" && strength !== undefined && Math.floor(steps * strength) < 1) {
    throw new InvalidParameterError(
      p("strength"),
      `at least 1/steps = ${1 / steps} so that one denoising step runs (strength * steps >= 1)`,
      strength,
    );
  }

  const schedulerName = request.scheduler;
  if (schedulerName !== undefined && typeof schedulerName !== "string") {
    throw new InvalidParameterError(
      p("scheduler"),
      `one of ${SCHEDULER_NAMES.join(", ")}`,
      schedulerName,
    );
  }
  let scheduler: Scheduler;
  try {
    scheduler = createScheduler({ ...model.schedulerConfig }, schedulerName);
  } catch (cause) {
    throw new InvalidParameterError(
      p("scheduler"),
      `one of ${SCHEDULER_NAMES.join(", ")}`,
      schedulerName,
      {
        cause,
      },
    );
  }
  if (request.onProgress !== undefined && typeof request.onProgress !== "function") {
    throw new InvalidParameterError(p("onProgress"), "a function", request.onProgress);
  }

  return {
    index,
    paramPrefix: prefix,
    request,
    mode,
    prompt,
    negativePrompt,
    numImages,
    width,
    height,
    steps,
    guidanceScale,
    cfg: guidanceScale > 1,
    scheduler,
    seed,
    eta,
    strength: mode === "img2img" ? strength : undefined,
    image,
    mask,
  };
}

/**
 * Validates a batch: every request, then that they share width, height, steps, scheduler, mode and
 * strength (they go through the same UNet calls with the same timesteps).
 */
export function resolveBatch(
  requests: readonly GenerateRequest[],
  model: LoadedModel,
): ResolvedRequest[] {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new InvalidParameterError("requests", "a non-empty array of requests", requests);
  }
  const single = requests.length === 1;
  const resolved = requests.map((r, i) =>
    resolveRequest(r, model, i, single ? "" : `requests[${i}].`),
  );
  const first = resolved[0]!;
  for (const r of resolved.slice(1)) {
    const shared: [string, unknown, unknown][] = [
      ["width", r.width, first.width],
      ["height", r.height, first.height],
      ["steps", r.steps, first.steps],
      ["scheduler", r.scheduler.name, first.scheduler.name],
      ["mode", r.mode, first.mode],
      ["strength", r.strength, first.strength],
    ];
    for (const [name, value, expected] of shared) {
      if (value !== expected) {
        throw new InvalidParameterError(
          `requests[${r.index}].${name}`,
          `equal to requests[0].${name} (${String(expected)}) within one batch`,
          value,
        );
      }
    }
  }
  return resolved;
}
