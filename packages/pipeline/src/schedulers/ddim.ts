import { type Tensor, tensor } from "../tensor/index.ts";
import { AlphaScheduler } from "./alpha-scheduler.ts";
import {
  addScaled,
  alphasCumprodOf,
  checkSameDims,
  checkSteps,
  integerTimesteps,
  levelFromAlphaProd,
  makeBetas,
  predictEpsilon,
  weightedSum,
} from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SchedulerError } from "./errors.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "DDIMScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

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
export class DDIMScheduler extends AlphaScheduler implements Scheduler {
  readonly name = NAME;
  private numInferenceSteps: number | null = null;

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, DDIM_DEFAULTS);
    super(resolved, alphasCumprodOf(makeBetas(resolved, NAME)));
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

  /** The DDIM posterior variance between `timestep` and `prevTimestep` (diffusers' `_get_variance`). */
  getVariance(timestep: number, prevTimestep: number): number {
    const alphaProdT = this.alphaProd(timestep);
    const alphaProdPrev = this.alphaProdOrFinal(prevTimestep);
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
    const alphaProdT = this.alphaProd(timestep);
    const alphaProdPrev = this.alphaProdOrFinal(prevTimestep);
    const m = modelOutput.data;
    const x = sample.data;
    const predOriginal = this.predictOriginal(m, x, alphaProdT, sample.dims);
    const predEpsilon = predictEpsilon(c.prediction_type, m, x, levelFromAlphaProd(alphaProdT));

    const variance = this.getVariance(timestep, prevTimestep);
    const stdDev = f32(f32(eta) * f32(Math.sqrt(variance)));
    const directionCoeff = f32(Math.sqrt(f32(f32(1 - alphaProdPrev) - f32(stdDev * stdDev))));
    const sqrtAlphaPrev = f32(Math.sqrt(alphaProdPrev));
    const prev = weightedSum(sqrtAlphaPrev, predOriginal, directionCoeff, predEpsilon);
    if (eta > 0) {
      if (options.noise === undefined) {
        throw new SchedulerError(`${NAME}.step: eta ${eta} > 0 needs options.noise`, {
          param: "noise",
        });
      }
      addScaled(prev, stdDev, options.noise.randn(x.length), prev);
    }
    return {
      prevSample: tensor(prev, sample.dims),
      predOriginalSample: tensor(predOriginal, sample.dims),
    };
  }
}
