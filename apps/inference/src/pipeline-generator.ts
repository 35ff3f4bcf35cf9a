import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULTS,
  loadPipeline,
  type GenerateRequest as PipelineRequest,
  type SessionOptions,
  type StableDiffusionPipeline,
} from "@easel/pipeline";
import type { ModelSpec } from "./config.ts";
import type { GenerateRequest, ImageGenerator, ModelInfo } from "./generator.ts";

/**
 * Optional `easel.json` in a model folder: serving defaults for that model (the Shapes model is
 * trained for 64x64 at 20 steps, an SD 1.5 export wants 512x512 at 25).
 */
interface ServingDefaults {
  default_steps?: number;
  default_guidance_scale?: number;
  default_scheduler?: string;
}

/** Loads a model folder with @easel/pipeline, warms it up with one step, and adapts it for the engine. */
export async function loadPipelineGenerator(
  spec: ModelSpec,
  options: SessionOptions,
): Promise<ImageGenerator> {
  const pipe = await loadPipeline(spec.dir, options);
  const defaults = readServingDefaults(spec.dir);
  const size = pipe.info.sampleSize;
  const info: ModelInfo = {
    name: spec.name,
    defaultWidth: size,
    defaultHeight: size,
    defaultSteps: defaults.default_steps ?? DEFAULTS.steps,
    defaultGuidance: defaults.default_guidance_scale ?? DEFAULTS.guidanceScale,
    defaultScheduler: defaults.default_scheduler ?? pipe.info.defaultScheduler,
    sizeMultiple: pipe.info.vaeScaleFactor,
    supportsImageToImage: pipe.info.hasVaeEncoder,
  };
  // One step at the default size: sessions allocate their buffers now, not on the first request.
  await pipe.generate({ prompt: "warm up", steps: 1, seed: 0, width: size, height: size });
  return new PipelineGenerator(pipe, info);
}

class PipelineGenerator implements ImageGenerator {
  constructor(
    private readonly pipe: StableDiffusionPipeline,
    readonly info: ModelInfo,
  ) {}

  validate(request: GenerateRequest): void {
    this.pipe.validate(toPipelineRequest(request));
  }

  async generateBatch(
    requests: GenerateRequest[],
    { signal, onStep }: Parameters<ImageGenerator["generateBatch"]>[1],
  ) {
    const results = await this.pipe.generateBatch(requests.map(toPipelineRequest), {
      signal,
      previews: true,
      onProgress: (event) => onStep(event.step, event.total, event.previews),
    });
    return results.map((r) => ({ images: r.images }));
  }

  async dispose(): Promise<void> {
    await this.pipe.release();
  }
}

function toPipelineRequest(r: GenerateRequest): PipelineRequest {
  return {
    prompt: r.prompt,
    negativePrompt: r.negativePrompt,
    width: r.width,
    height: r.height,
    steps: r.steps,
    guidanceScale: r.guidanceScale,
    scheduler: r.scheduler,
    seed: r.seed,
    numImages: r.numImages,
    ...(r.image ? { image: r.image } : {}),
    ...(r.strength === undefined ? {} : { strength: r.strength }),
  };
}

function readServingDefaults(dir: string): ServingDefaults {
  const file = join(dir, "easel.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ServingDefaults) : {};
}
