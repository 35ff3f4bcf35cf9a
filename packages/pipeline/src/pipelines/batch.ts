/**
 * How requests share one UNet batch. Rows follow diffusers' ONNX pipeline for a single request
 * (`np.concatenate([negative_prompt_embeds, prompt_embeds])`): the unconditional rows of every
 * guided request come first, then the conditional rows of every request; each request's rows are
 * its numImages images. Requests with guidance <= 1 have no unconditional rows.
 */
import { type Feed, feedFor, type TensorSpec } from "../models/session.ts";
import { RandomState } from "../random/numpy.ts";
import type { Tensor } from "../tensor/index.ts";
import type { ResolvedRequest } from "./validate.ts";

/** One request inside a running batch. */
export interface RequestState {
  readonly req: ResolvedRequest;
  /** numpy's RandomState(seed): initial noise, img2img noise and stochastic scheduler steps. */
  readonly rng: RandomState;
  /** [numImages, C, h, w]; replaced by the scheduler's output after each step. */
  latents: Tensor;
  /** First unconditional row in the UNet batch, or -1 without guidance. */
  readonly negRow: number;
  /** First conditional row in the UNet batch. */
  readonly posRow: number;
}

/** Assigns UNet rows to requests; returns the states and the UNet batch size. */
export function layoutBatch(resolved: readonly ResolvedRequest[]): {
  states: RequestState[];
  rows: number;
} {
  let negRows = 0;
  for (const r of resolved) if (r.cfg) negRows += r.numImages;
  const states: RequestState[] = [];
  let nextNeg = 0;
  let nextPos = negRows;
  for (const r of resolved) {
    states.push({
      req: r,
      rng: new RandomState(r.seed),
      latents: { data: new Float32Array(0), dims: [] },
      negRow: r.cfg ? nextNeg : -1,
      posRow: nextPos,
    });
    if (r.cfg) nextNeg += r.numImages;
    nextPos += r.numImages;
  }
  return { states, rows: nextPos };
}

/**
 * The UNet's encoder_hidden_states: each row gets its prompt's embedding. `embeddings` holds one
 * row per request's prompt, then one per guided request's negative prompt, in request order.
 */
export function hiddenStatesFor(
  states: readonly RequestState[],
  rows: number,
  embeddings: Tensor,
): Float32Array {
  const [, seqLen = 0, hidden = 0] = embeddings.dims;
  const rowSize = seqLen * hidden;
  const out = new Float32Array(rows * rowSize);
  let negativeIndex = states.length;
  for (const [i, s] of states.entries()) {
    const n = s.req.numImages;
    const positive = embeddings.data.subarray(i * rowSize, (i + 1) * rowSize);
    for (let j = 0; j < n; j++) out.set(positive, (s.posRow + j) * rowSize);
    if (s.negRow >= 0) {
      const negative = embeddings.data.subarray(
        negativeIndex * rowSize,
        (negativeIndex + 1) * rowSize,
      );
      negativeIndex++;
      for (let j = 0; j < n; j++) out.set(negative, (s.negRow + j) * rowSize);
    }
  }
  return out;
}

/**
 * Writes each request's scaled latents (`scheduler.scale_model_input`) into its rows of the UNet
 * input, both halves for guided requests. `rowSize` is one row of the UNet input (C_in * h * w),
 * `latentSize` one image's latents (C * h * w): an inpainting UNet's extra channels follow the latents.
 */
export function writeModelInput(
  states: readonly RequestState[],
  sample: Float32Array,
  timestep: number,
  rowSize: number,
  latentSize: number,
): void {
  for (const s of states) {
    const scaled = s.req.scheduler.scaleModelInput(s.latents, timestep).data;
    for (let j = 0; j < s.req.numImages; j++) {
      const image = scaled.subarray(j * latentSize, (j + 1) * latentSize);
      sample.set(image, (s.posRow + j) * rowSize);
      if (s.negRow >= 0) sample.set(image, (s.negRow + j) * rowSize);
    }
  }
}

/**
 * A request's classifier-free-guided noise, `uncond + g * (cond - uncond)` in float32 as numpy
 * computes it, written over its conditional rows of `noisePred` and returned as a view. No copy:
 * onnxruntime returns a fresh output buffer per call, so the view stays valid for multistep
 * schedulers (PNDM, LMS, DPM-Solver) that keep earlier model outputs.
 */
export function guidedNoise(
  noisePred: Float32Array,
  s: RequestState,
  latentSize: number,
): Float32Array {
  const n = s.req.numImages;
  const cond = noisePred.subarray(s.posRow * latentSize, (s.posRow + n) * latentSize);
  if (s.negRow < 0) return cond;
  const uncond = noisePred.subarray(s.negRow * latentSize, (s.negRow + n) * latentSize);
  const g = Math.fround(s.req.guidanceScale);
  for (let i = 0; i < cond.length; i++) {
    const u = uncond[i]!;
    cond[i] = u + Math.fround(g * Math.fround(cond[i]! - u));
  }
  return cond;
}

/**
 * The UNet's timestep input, allocated once per run and refilled each step. Its shape is the
 * model's own (scalar, [1] or [batch]; a symbolic dimension gets the batch size, which works
 * whether the graph broadcasts [1] or not). Integer dtypes truncate toward zero as numpy's
 * `np.array([t], dtype=int64)` does; float32 rounds.
 */
export class TimestepInput {
  readonly feed: Feed;

  constructor(spec: TensorSpec, batch: number) {
    const dims = spec.dims.map((d) => (typeof d === "number" && d > 0 ? d : batch));
    const count = dims.reduce((a, b) => a * b, 1);
    this.feed = feedFor(spec, new Array<number>(count).fill(0), dims);
  }

  set(timestep: number): Feed {
    const data = this.feed.data;
    if (data instanceof BigInt64Array) data.fill(BigInt(Math.trunc(timestep)));
    else if (data instanceof Int32Array) data.fill(Math.trunc(timestep));
    else if (data instanceof Uint16Array) {
      // float16: rebuild through feedFor, which owns the half-precision rounding.
      data.set(
        feedFor({ name: "", dtype: "float16", dims: [] }, [timestep], [1]).data as Uint16Array,
        0,
      );
      data.fill(data[0]!);
    } else data.fill(timestep);
    return this.feed;
  }
}
