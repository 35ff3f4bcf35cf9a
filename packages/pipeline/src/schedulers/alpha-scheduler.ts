import { type Tensor, tensor } from "../tensor/index.ts";
import {
  addNoiseAt,
  alphaAt,
  checkSameDims,
  clampInPlace,
  levelFromAlphaProd,
  predictOriginal,
  thresholdSample,
} from "./common.ts";
import type { ResolvedSchedulerConfig } from "./config.ts";

/**
 * What DDIM, DDPM, LCM and PNDM share: integer timesteps into the training schedule, noise levels read
 * from `alphas_cumprod`, an unscaled model input (initial noise std 1), `sqrt(a) x0 + sqrt(1 - a) noise`
 * forward diffusion and x0 post-processed by dynamic thresholding or `clip_sample`.
 */
export abstract class AlphaScheduler {
  abstract readonly name: string;
  readonly order: number = 1;
  readonly initNoiseSigma = 1;
  readonly config: ResolvedSchedulerConfig;
  readonly alphasCumprod: Float32Array;
  /**
   * alpha_cumprod used past the last step: 1 with `set_alpha_to_one`, else `alphas_cumprod[0]`
   * (DDPM, which has no such option, passes 1).
   */
  readonly finalAlphaCumprod: number;
  protected schedule: number[] = [];

  protected constructor(
    config: ResolvedSchedulerConfig,
    alphasCumprod: Float32Array,
    finalAlphaCumprod = config.set_alpha_to_one ? 1 : alphasCumprod[0]!,
  ) {
    this.config = config;
    this.alphasCumprod = alphasCumprod;
    this.finalAlphaCumprod = finalAlphaCumprod;
  }

  get timesteps(): readonly number[] {
    return this.schedule;
  }

  scaleModelInput(sample: Tensor, _timestep: number): Tensor {
    return sample;
  }

  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    checkSameDims(this.name, "noise", noise, original);
    const level = levelFromAlphaProd(this.alphaProd(timestep));
    return tensor(addNoiseAt(level, original.data, noise.data), original.dims);
  }

  /** `alphas_cumprod[t]`; a timestep outside the training range is a SchedulerError. */
  protected alphaProd(t: number): number {
    return alphaAt(this.alphasCumprod, t, this.name);
  }

  /** `alphas_cumprod` at a step's target timestep: `finalAlphaCumprod` past the last step (t < 0). */
  protected alphaProdOrFinal(t: number): number {
    return t >= 0 ? this.alphaProd(t) : this.finalAlphaCumprod;
  }

  /** x0 from a model output at `alphaProd`, then dynamic thresholding or `clip_sample` as configured. */
  protected predictOriginal(
    modelOutput: Float32Array,
    sample: Float32Array,
    alphaProd: number,
    dims: readonly number[],
  ): Float32Array {
    const c = this.config;
    const level = levelFromAlphaProd(alphaProd);
    const x0 = predictOriginal(c.prediction_type, modelOutput, sample, level, this.name);
    if (c.thresholding) {
      return thresholdSample(x0, dims, c.dynamic_thresholding_ratio, c.sample_max_value);
    }
    return c.clip_sample ? clampInPlace(x0, c.clip_sample_range) : x0;
  }
}
