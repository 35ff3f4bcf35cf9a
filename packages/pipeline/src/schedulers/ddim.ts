import { type Tensor, tensor } from "../tensor/index.ts";
import {
  addNoiseWithAlpha,
  alphaAt,
  alphasCumprodOf,
  checkSameDims,
  checkSteps,
  clampInPlace,
  f32,
  integerTimesteps,
  makeBetas,
  predictOriginalFromAlpha,
  thresholdSample,
} from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SchedulerError } from "./errors.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "DDIMScheduler";

/** DDIMScheduler's `__init__` defaults for the keys where diffusers' classes disagree. */
export const DDIM_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  timestep_spacing: "leading",
  set_alpha_to_one: true,
  clip_sample: true,
};

/**
 * Denoising Diffusion Implicit Models (Song et al. 2020), as diffusers' `DDIMScheduler`.
 * Deterministic for `eta = 0` (the default); `eta > 0` adds `options.noise` draws scaled by the DDIM sigma
 * (numpy RandomState normals in Easel, not torch's generator as in diffusers' torch pipelines).
 * Supports epsilon, v_prediction and sample outputs, clip_sample and dynamic thresholding.
 *
 * @example
 * const s = new DDIMScheduler({ beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 });
 * s.setTimesteps(30);
 * for (const t of s.timesteps) x = s.step(unet(x, t), t, x).prevSample;
 */
export class DDIMScheduler implements Scheduler {
  readonly name = NAME;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly config: ResolvedSchedulerConfig;
  readonly alphasCumprod: Float32Array;
  /** alpha_cumprod used past the last step: 1 with `set_alpha_to_one`, else `alphas_cumprod[0]`. */
  readonly finalAlphaCumprod: number;
  private schedule: number[] = [];
  private numInferenceSteps: number | null = null;

  constructor(config: SchedulerConfig = {}) {
    this.config = resolveSchedulerConfig(config, DDIM_DEFAULTS);
    this.alphasCumprod = alphasCumprodOf(makeBetas(this.config, NAME));
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0]!;
  }

  get timesteps(): readonly number[] {
    return this.schedule;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkSteps(NAME, numInferenceSteps, c.num_train_timesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.schedule = integerTimesteps(
      c.timestep_spacing,
      c.num_train_timesteps,
      numInferenceSteps,
      c.steps_offset,
    );
  }

  scaleModelInput(sample: Tensor, _timestep: number): Tensor {
    return sample;
  }

  /** The DDIM posterior variance between `timestep` and `prevTimestep` (diffusers' `_get_variance`). */
  getVariance(timestep: number, prevTimestep: number): number {
    const alphaProdT = alphaAt(this.alphasCumprod, timestep, NAME);
    const alphaProdPrev =
      prevTimestep >= 0 ? alphaAt(this.alphasCumprod, prevTimestep, NAME) : this.finalAlphaCumprod;
    const betaProdT = f32(1 - alphaProdT);
    const betaProdPrev = f32(1 - alphaProdPrev);
    return f32(f32(betaProdPrev / betaProdT) * f32(1 - f32(alphaProdT / alphaProdPrev)));
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: StepOptions = {},
  ): StepOutput {
    const steps = this.numInferenceSteps;
    if (steps === null) throw new SchedulerError(`${NAME}.step: call setTimesteps first`);
    checkSameDims(NAME, "model output", modelOutput, sample);
    const c = this.config;
    const eta = options.eta ?? 0;
    // DDIM steps back by a fixed stride, whatever the spacing (as diffusers does).
    const prevTimestep = timestep - Math.floor(c.num_train_timesteps / steps);
    const alphaProdT = alphaAt(this.alphasCumprod, timestep, NAME);
    const alphaProdPrev =
      prevTimestep >= 0 ? alphaAt(this.alphasCumprod, prevTimestep, NAME) : this.finalAlphaCumprod;
    const betaProdT = f32(1 - alphaProdT);
    const sqrtAlpha = f32(Math.sqrt(alphaProdT));
    const sqrtBeta = f32(Math.sqrt(betaProdT));
    const m = modelOutput.data;
    const x = sample.data;

    let predOriginal = predictOriginalFromAlpha(c.prediction_type, m, x, alphaProdT, NAME);
    const predEpsilon = new Float32Array(x.length);
    if (c.prediction_type === "epsilon") predEpsilon.set(m);
    else if (c.prediction_type === "sample") {
      for (let i = 0; i < x.length; i++) {
        predEpsilon[i] = f32(x[i]! - f32(sqrtAlpha * predOriginal[i]!)) / sqrtBeta;
      }
    } else {
      for (let i = 0; i < x.length; i++) {
        predEpsilon[i] = f32(sqrtAlpha * m[i]!) + f32(sqrtBeta * x[i]!);
      }
    }
    if (c.thresholding) {
      predOriginal = thresholdSample(
        predOriginal,
        sample.dims,
        c.dynamic_thresholding_ratio,
        c.sample_max_value,
      );
    } else if (c.clip_sample) {
      clampInPlace(predOriginal, c.clip_sample_range);
    }

    const variance = this.getVariance(timestep, prevTimestep);
    const stdDev = f32(f32(eta) * f32(Math.sqrt(variance)));
    const directionCoeff = f32(Math.sqrt(f32(f32(1 - alphaProdPrev) - f32(stdDev * stdDev))));
    const sqrtAlphaPrev = f32(Math.sqrt(alphaProdPrev));
    const prev = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      prev[i] = f32(sqrtAlphaPrev * predOriginal[i]!) + f32(directionCoeff * predEpsilon[i]!);
    }
    if (eta > 0) {
      if (options.noise === undefined) {
        throw new SchedulerError(`${NAME}.step: eta ${eta} > 0 needs options.noise`, {
          param: "noise",
        });
      }
      const noise = options.noise.randn(x.length);
      for (let i = 0; i < x.length; i++) prev[i] = prev[i]! + f32(stdDev * noise[i]!);
    }
    return {
      prevSample: tensor(prev, sample.dims),
      predOriginalSample: tensor(predOriginal, sample.dims),
    };
  }

  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    checkSameDims(NAME, "noise", noise, original);
    const alpha = alphaAt(this.alphasCumprod, timestep, NAME);
    return tensor(addNoiseWithAlpha(original, noise, alpha), original.dims);
  }
}
