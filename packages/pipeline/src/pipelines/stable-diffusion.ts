/**
 * The Stable Diffusion pipeline: text-to-image, image-to-image and inpainting over ONNX models,
 * following diffusers' OnnxStableDiffusion{,Img2Img,Inpaint}Pipeline step for step (same noise
 * draws, same batching of classifier-free guidance, same float32 rounding), with several requests
 * sharing the UNet calls.
 */
import { PipelineAbortedError, PipelineError } from "../errors/index.ts";
import type { RgbImage } from "../image/types.ts";
import { type LoadedModel, type LoadOptions, loadModel, type ModelInfo } from "../models/load.ts";
import { feedFor } from "../models/session.ts";
import type { Tensor } from "../tensor/index.ts";
import {
  guidedNoise,
  hiddenStatesFor,
  layoutBatch,
  type RequestState,
  TimestepInput,
  writeModelInput,
} from "./batch.ts";
import {
  decodeLatents,
  encodeImage,
  encodeText,
  type RunClock,
  tokenizePrompt,
} from "./model-calls.ts";
import { decodedToRgb, latentMask, maskedImageTensor, rgbToSignedTensor } from "./pixels.ts";
import {
  fitLatentProjection,
  grayProjection,
  type LatentProjection,
  projectLatents,
  sd1Projection,
} from "./preview.ts";
import { resizeImage } from "./resize.ts";
import type {
  BatchOptions,
  GenerateRequest,
  GenerateResult,
  GenerationParameters,
  ProgressEvent,
  StageTimings,
} from "./types.ts";
import { type ResolvedRequest, resolveBatch } from "./validate.ts";

const f32 = Math.fround;

/** Options of {@link loadPipeline}. */
export type PipelineOptions = LoadOptions;

/** Everything one `generateBatch` call carries between its steps. */
interface Run {
  readonly started: number;
  readonly clock: RunClock;
  readonly timings: StageTimings;
  readonly signals: readonly AbortSignal[];
  readonly states: RequestState[];
  /** UNet batch rows. */
  readonly rows: number;
  /** Latent height and width. */
  readonly h: number;
  readonly w: number;
  /** The UNet input [rows, C_in, h, w]; inpainting's mask channels are filled once. */
  readonly sample: Float32Array;
}

/**
 * A loaded Stable Diffusion model ready to generate. Create it with {@link loadPipeline}. Calls
 * may overlap: each keeps its own schedulers, generators and buffers.
 */
export class StableDiffusionPipeline {
  readonly info: ModelInfo;
  readonly model: LoadedModel;
  private projection: Promise<LatentProjection> | undefined;

  constructor(model: LoadedModel) {
    this.model = model;
    this.info = model.info;
  }

  /**
   * Runs one request. Equivalent to `(await generateBatch([request]))[0]`.
   *
   * @example
   * const { images, seed } = await pipe.generate({ prompt: "a red circle", steps: 20, seed: 42 });
   */
  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const [result] = await this.generateBatch([request]);
    return result!;
  }

  /**
   * Runs several requests through the same UNet calls. They must share width, height, steps,
   * scheduler, mode and strength; each keeps its own prompt, negative prompt, seed, guidance
   * scale, eta, image count, scheduler instance and noise generator, so a request's images do not
   * depend on what it was batched with (up to float rounding inside onnxruntime).
   * `options.signal` or any request's `signal` aborts the whole batch between steps.
   *
   * @example
   * const [a, b] = await pipe.generateBatch([{ prompt: "a fox", seed: 1 }, { prompt: "an owl", seed: 2 }]);
   */
  async generateBatch(
    requests: readonly GenerateRequest[],
    options: BatchOptions = {},
  ): Promise<GenerateResult[]> {
    const started = performance.now();
    const { latentChannels: C, vaeScaleFactor: factor, unetInChannels } = this.info;

    // 1. Validate everything before any model runs.
    const resolved = resolveBatch(requests, this.model);
    const first = resolved[0]!;
    const { states, rows } = layoutBatch(resolved);
    const h = first.height / factor;
    const w = first.width / factor;
    const run: Run = {
      started,
      clock: { onnxMs: 0 },
      timings: emptyTimings(),
      signals: [options.signal, ...resolved.map((r) => r.request.signal)].filter(
        (s): s is AbortSignal => s !== undefined,
      ),
      states,
      rows,
      h,
      w,
      sample: new Float32Array(rows * unetInChannels * h * w),
    };

    // 2. Tokenize: over-long prompts are rejected here, still before any model runs.
    let t = performance.now();
    const positives = resolved.map((r) => tokenizePrompt(this.model, r.prompt, r, "prompt"));
    const negatives = resolved.flatMap((r) =>
      r.cfg ? [tokenizePrompt(this.model, r.negativePrompt, r, "negativePrompt")] : [],
    );
    run.timings.tokenizeMs = performance.now() - t;
    checkAborted(run.signals, 0, first.steps);

    // 3. Encode every prompt, then every negative prompt, in one text-encoder batch.
    t = performance.now();
    const embeddings = await encodeText(this.model, [...positives, ...negatives], run.clock);
    const hiddenStates = hiddenStatesFor(states, rows, embeddings);
    run.timings.textEncoderMs = performance.now() - t;

    // 4. Initial latents, drawn from each request's generator in diffusers' order.
    let timesteps: readonly number[] = [];
    for (const s of states) timesteps = await this.prepareLatents(run, s);

    // 5. Denoise.
    await this.denoise(run, timesteps, hiddenStates, embeddings.dims, options);
    checkAborted(run.signals, timesteps.length, timesteps.length);

    // 6. Decode each image on its own (diffusers does, to sidestep batch-size issues in fp16 VAEs).
    t = performance.now();
    const images: RgbImage[][] = [];
    const inverseScaling = f32(1 / this.info.vaeScalingFactor);
    const latentSize = C * h * w;
    const one = new Float32Array(latentSize);
    for (const s of states) {
      const decoded: RgbImage[] = [];
      for (let j = 0; j < s.req.numImages; j++) {
        const src = s.latents.data.subarray(j * latentSize, (j + 1) * latentSize);
        // diffusers: `latents = 1 / 0.18215 * latents`, the reciprocal rounded to float32 first.
        for (let i = 0; i < latentSize; i++) one[i] = inverseScaling * src[i]!;
        const out = await decodeLatents(this.model, one, [1, C, h, w], run.clock);
        decoded.push(decodedToRgb(out.data, out.dims, 0));
      }
      images.push(decoded);
    }
    run.timings.vaeDecodeMs = performance.now() - t;
    run.timings.totalMs = performance.now() - started;
    run.timings.onnxMs = run.clock.onnxMs;

    return states.map((s, i) => ({
      images: images[i]!,
      seed: s.req.seed,
      timings: { ...run.timings, unetCallsMs: [...run.timings.unetCallsMs] },
      parameters: this.parametersOf(s.req),
    }));
  }

  /**
   * Checks a request against this model without running anything: the same checks and messages
   * as `generate`, including the prompts' token counts. Throws InvalidParameterError.
   */
  validate(request: GenerateRequest): void {
    const r = resolveBatch([request], this.model)[0]!;
    tokenizePrompt(this.model, r.prompt, r, "prompt");
    if (r.cfg) tokenizePrompt(this.model, r.negativePrompt, r, "negativePrompt");
  }

  /** Releases the onnxruntime sessions; the pipeline cannot be used afterwards. */
  async release(): Promise<void> {
    await Promise.all(this.model.sessions.map((s) => s.release()));
  }

  /**
   * Sets the request's timesteps and initial latents; returns the timesteps to denoise.
   * - txt2img: `randn(n, C, h, w) * init_noise_sigma`.
   * - img2img: VAE-encode the image, noise it to the timestep strength selects (diffusers' ONNX
   *   img2img: init_timestep = int(steps * strength) + steps_offset, noise at timesteps[-init_timestep],
   *   denoise from t_start = steps - init_timestep + steps_offset).
   * - inpaint: like txt2img, plus the mask and masked-image latents written into the UNet input.
   */
  private async prepareLatents(run: Run, s: RequestState): Promise<readonly number[]> {
    const r = s.req;
    const C = this.info.latentChannels;
    const shape = [r.numImages, C, run.h, run.w];
    const size = r.numImages * C * run.h * run.w;
    r.scheduler.setTimesteps(r.steps);
    const all = r.scheduler.timesteps;

    if (r.mode === "img2img") {
      const t = performance.now();
      const image = resizeImage(r.image!, r.width, r.height);
      const init = await encodeImage(
        this.model,
        rgbToSignedTensor(image),
        r.width,
        r.height,
        run.clock,
      );
      run.timings.vaeEncodeMs += performance.now() - t;
      const offset = this.stepsOffset();
      const initTimestep = Math.min(Math.floor(r.steps * r.strength!) + offset, r.steps);
      const noiseAt = all[all.length - initTimestep];
      if (noiseAt === undefined) {
        throw new PipelineError(
          `img2img: timestep index ${all.length - initTimestep} is outside the scheduler's ${all.length} timesteps`,
        );
      }
      const noise = s.rng.randn(size);
      s.latents = r.scheduler.addNoise(
        repeatImage(init, shape),
        { data: noise, dims: shape },
        noiseAt,
      );
      return all.slice(Math.max(r.steps - initTimestep + offset, 0));
    }

    const noise = s.rng.randn(size);
    if (r.mode === "inpaint") {
      const t = performance.now();
      await this.writeInpaintChannels(run, s);
      run.timings.vaeEncodeMs += performance.now() - t;
    }
    const sigma = f32(r.scheduler.initNoiseSigma);
    for (let i = 0; i < noise.length; i++) noise[i] = noise[i]! * sigma;
    s.latents = { data: noise, dims: shape };
    return all;
  }

  /** The UNet loop: one call per timestep for the whole batch, then each request's scheduler step. */
  private async denoise(
    run: Run,
    timesteps: readonly number[],
    hiddenStates: Float32Array,
    embeddingDims: readonly number[],
    options: BatchOptions,
  ): Promise<void> {
    const { unet } = this.model;
    const { states, rows, sample, timings } = run;
    const hw = run.h * run.w;
    const latentSize = this.info.latentChannels * hw;
    const rowSize = this.info.unetInChannels * hw;
    const sampleDims = [rows, this.info.unetInChannels, run.h, run.w];
    // A float32 input wraps `sample` itself, so refilling the array updates the feed.
    const sampleFeed =
      unet.sample.dtype === "float32" ? feedFor(unet.sample, sample, sampleDims) : undefined;
    const hiddenFeed = feedFor(unet.encoderHiddenStates, hiddenStates, [
      rows,
      embeddingDims[1] ?? 0,
      embeddingDims[2] ?? 0,
    ]);
    const timestepInput = new TimestepInput(unet.timestep, rows);
    const previewed = states.filter(
      (s) =>
        options.previews === true ||
        (s.req.request.preview === true && s.req.request.onProgress !== undefined),
    );
    const total = timesteps.length;

    for (let step = 0; step < total; step++) {
      checkAborted(run.signals, step, total);
      const timestep = timesteps[step]!;

      let t = performance.now();
      writeModelInput(states, sample, timestep, rowSize, latentSize);
      timings.schedulerMs += performance.now() - t;

      t = performance.now();
      const out = await unet.session.run(
        {
          [unet.sample.name]: sampleFeed ?? feedFor(unet.sample, sample, sampleDims),
          [unet.timestep.name]: timestepInput.set(timestep),
          [unet.encoderHiddenStates.name]: hiddenFeed,
        },
        `UNet run at step ${step + 1}/${total}`,
        [unet.output],
        run.clock,
      );
      const noisePred = out[unet.output]!.data;
      const callMs = performance.now() - t;
      timings.unetCallsMs.push(callMs);
      timings.unetMs += callMs;

      t = performance.now();
      for (const s of states) {
        const guided = guidedNoise(noisePred, s, latentSize);
        s.latents = s.req.scheduler.step(
          { data: guided, dims: s.latents.dims },
          timestep,
          s.latents,
          {
            eta: s.req.eta,
            noise: s.rng,
          },
        ).prevSample;
      }
      timings.schedulerMs += performance.now() - t;

      await this.reportProgress(
        run,
        { step: step + 1, total, timestep, elapsedMs: performance.now() - run.started },
        previewed,
        options,
      );
    }
  }

  private async reportProgress(
    run: Run,
    event: ProgressEvent,
    previewed: readonly RequestState[],
    options: BatchOptions,
  ): Promise<void> {
    const previews = new Map<RequestState, RgbImage>();
    if (previewed.length > 0) {
      const t = performance.now();
      const projection = await this.previewProjection(run.clock);
      for (const s of previewed)
        previews.set(s, projectLatents(s.latents.data, s.latents.dims, 0, projection));
      run.timings.previewMs += performance.now() - t;
    }
    if (options.onProgress !== undefined) {
      options.onProgress(
        options.previews === true
          ? { ...event, previews: run.states.map((s) => previews.get(s)!) }
          : event,
      );
    }
    for (const s of run.states) {
      const callback = s.req.request.onProgress;
      if (callback === undefined) continue;
      const preview = s.req.request.preview === true ? previews.get(s) : undefined;
      callback(preview === undefined ? event : { ...event, preview });
    }
  }

  /**
   * diffusers' ONNX inpainting inputs: the mask at latent resolution and the VAE latents of the
   * image with the masked area zeroed, in channels C and C+1.. of every row the request owns.
   * They never change, so they are written once.
   */
  private async writeInpaintChannels(run: Run, s: RequestState): Promise<void> {
    const r = s.req;
    const C = this.info.latentChannels;
    const hw = run.h * run.w;
    const rowSize = this.info.unetInChannels * hw;
    const image = resizeImage(r.image!, r.width, r.height);
    const mask = resizeImage(r.mask!, r.width, r.height);
    const maskLatent = latentMask(mask, run.h, run.w);
    const maskedLatents = await encodeImage(
      this.model,
      maskedImageTensor(image, mask),
      r.width,
      r.height,
      run.clock,
    );
    for (let j = 0; j < r.numImages; j++) {
      for (const row of s.negRow >= 0 ? [s.posRow + j, s.negRow + j] : [s.posRow + j]) {
        run.sample.set(maskLatent, row * rowSize + C * hw);
        run.sample.set(maskedLatents, row * rowSize + (C + 1) * hw);
      }
    }
  }

  /** steps_offset of the (normalised) scheduler config, as diffusers' img2img reads it (default 0). */
  private stepsOffset(): number {
    const offset = this.model.schedulerConfig["steps_offset"];
    return typeof offset === "number" ? offset : 0;
  }

  /** The latent -> RGB projection for previews, computed once per pipeline (see preview.ts). */
  private previewProjection(clock: RunClock): Promise<LatentProjection> {
    if (this.projection === undefined) {
      const { latentChannels, vaeScaleFactor, vaeScalingFactor } = this.info;
      this.projection =
        latentChannels === 4 && Math.abs(vaeScalingFactor - 0.18215) < 1e-6
          ? Promise.resolve(sd1Projection())
          : fitLatentProjection(
              latentChannels,
              vaeScaleFactor,
              vaeScalingFactor,
              async (latents, dims) => {
                return (await decodeLatents(this.model, latents, dims, clock)).data;
              },
            ).catch(() => grayProjection(latentChannels));
    }
    return this.projection;
  }

  private parametersOf(r: ResolvedRequest): GenerationParameters {
    return {
      mode: r.mode,
      prompt: r.prompt,
      negativePrompt: r.negativePrompt,
      numImages: r.numImages,
      width: r.width,
      height: r.height,
      steps: r.steps,
      guidanceScale: r.guidanceScale,
      scheduler: r.scheduler.name,
      seed: r.seed,
      eta: r.eta,
      strength: r.strength,
      model: this.info.name,
    };
  }
}

function emptyTimings(): StageTimings {
  return {
    tokenizeMs: 0,
    textEncoderMs: 0,
    vaeEncodeMs: 0,
    unetMs: 0,
    unetCallsMs: [],
    schedulerMs: 0,
    vaeDecodeMs: 0,
    previewMs: 0,
    totalMs: 0,
    onnxMs: 0,
  };
}

/** Stacks one image's latents dims[0] times along the batch axis. */
function repeatImage(one: Float32Array, dims: readonly number[]): Tensor {
  const n = dims[0] ?? 1;
  const data = new Float32Array(one.length * n);
  for (let j = 0; j < n; j++) data.set(one, j * one.length);
  return { data, dims: [...dims] };
}

function checkAborted(signals: readonly AbortSignal[], step: number, total: number): void {
  for (const signal of signals) {
    if (signal.aborted) throw new PipelineAbortedError(step, total, { cause: signal.reason });
  }
}

/**
 * Loads a Stable Diffusion model folder (diffusers' or Optimum's ONNX layout) and returns a pipeline.
 *
 * @example
 * const pipe = await loadPipeline("models/sd15-onnx", { executionProvider: "cpu", intraOpThreads: 4 });
 * const { images, seed, timings } = await pipe.generate({ prompt: "a lighthouse at dusk", steps: 20 });
 */
export async function loadPipeline(
  dir: string,
  options: PipelineOptions = {},
): Promise<StableDiffusionPipeline> {
  return new StableDiffusionPipeline(await loadModel(dir, options));
}
