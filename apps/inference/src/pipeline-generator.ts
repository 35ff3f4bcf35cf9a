import { Worker } from "node:worker_threads";
import {
  DEFAULTS,
  type ModelInfo as PipelineInfo,
  type GenerateRequest as PipelineRequest,
  type RgbImage,
  readServingDefaults,
  type SessionOptions,
} from "@easel/pipeline";
import type { ModelSpec } from "./config.ts";
import type {
  BatchOptions,
  GenerateRequest,
  GenerateResult,
  ImageGenerator,
  ModelInfo,
} from "./generator.ts";
import { reviveError, type ToMain, type ToWorker } from "./pipeline-protocol.ts";

/**
 * Loads a model folder with @easel/pipeline in a worker thread of its own (onnxruntime-node blocks
 * the thread it runs on), warms it up, and adapts it for the engine. One worker per model.
 */
export async function loadPipelineGenerator(
  spec: ModelSpec,
  options: SessionOptions,
): Promise<ImageGenerator> {
  const worker = new PipelineThread();
  try {
    const loaded = await worker.call({ type: "load", id: 0, dir: spec.dir, options });
    const pipeInfo = (loaded as Extract<ToMain, { type: "loaded" }>).info;
    const defaults = readServingDefaults(spec.dir);
    const info: ModelInfo = {
      name: spec.name,
      defaultWidth: pipeInfo.sampleSize,
      defaultHeight: pipeInfo.sampleSize,
      defaultSteps: defaults.default_steps ?? DEFAULTS.steps,
      defaultGuidance: defaults.default_guidance_scale ?? DEFAULTS.guidanceScale,
      defaultScheduler: defaults.default_scheduler ?? pipeInfo.defaultScheduler,
      sizeMultiple: pipeInfo.vaeScaleFactor,
      supportsImageToImage: pipeInfo.hasVaeEncoder,
    };
    return new ThreadedGenerator(worker, info, pipeInfo);
  } catch (error) {
    await worker.terminate();
    throw error;
  }
}

class ThreadedGenerator implements ImageGenerator {
  constructor(
    private readonly worker: PipelineThread,
    readonly info: ModelInfo,
    readonly pipelineInfo: PipelineInfo,
  ) {}

  async validate(request: GenerateRequest): Promise<void> {
    await this.worker.call({ type: "validate", id: 0, request: toPipelineRequest(request) });
  }

  async generateBatch(
    requests: GenerateRequest[],
    { signal, onStep }: BatchOptions,
  ): Promise<GenerateResult[]> {
    const result = await this.worker.call(
      { type: "generate", id: 0, requests: requests.map(toPipelineRequest), previews: true },
      { signal, onProgress: (m) => onStep(m.step, m.total, m.previews) },
    );
    return (result as Extract<ToMain, { type: "result" }>).images.map((images) => ({ images }));
  }

  async dispose(): Promise<void> {
    await this.worker.call({ type: "dispose", id: 0 }).catch(() => {});
    await this.worker.terminate();
  }
}

type Progress = Extract<ToMain, { type: "progress" }>;

/** Request/answer calls over one worker, matched by id; a crashed worker fails every call. */
class PipelineThread {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve(m: ToMain): void; reject(e: Error): void; onProgress?: (m: Progress) => void }
  >();

  constructor() {
    // pipeline-worker.mjs registers tsx in the new thread, then loads pipeline-worker.ts.
    this.worker = new Worker(new URL("./pipeline-worker.mjs", import.meta.url));
    this.worker.on("message", (message: ToMain) => {
      const call = this.pending.get(message.id);
      if (!call) return;
      if (message.type === "progress") return call.onProgress?.(message);
      this.pending.delete(message.id);
      if (message.type === "error") call.reject(reviveError(message.error));
      else call.resolve(message);
    });
    this.worker.on("error", (error) => this.failAll(error));
    this.worker.on("exit", (code) =>
      this.failAll(new Error(`the pipeline thread exited with code ${code}`)),
    );
  }

  call(
    message: ToWorker,
    { signal, onProgress }: { signal?: AbortSignal; onProgress?: (m: Progress) => void } = {},
  ): Promise<ToMain> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      const abort = () => this.worker.postMessage({ type: "abort", id } satisfies ToWorker);
      if (signal?.aborted) abort();
      signal?.addEventListener("abort", abort, { once: true });
      this.worker.postMessage({ ...message, id });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
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
    ...(r.image ? { image: r.image satisfies RgbImage } : {}),
    ...(r.strength === undefined ? {} : { strength: r.strength }),
  };
}
