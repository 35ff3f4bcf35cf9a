import { type Tensor, tensor } from "../tensor/index.ts";
import { AlphaScheduler } from "./alpha-scheduler.ts";
import {
  addScaled,
  alphasCumprodOf,
  checkCustomTimesteps,
  checkSameDims,
  checkSteps,
  indexForTimestep,
  integerTimesteps,
  makeBetas,
  weightedSum,
} from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SchedulerError } from "./errors.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "DDPMScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/** DDPMScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const DDPM_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  variance_type: "fixed_small",
  clip_sample: true,
  timestep_spacing: "leading",
};

const VARIANCE_TYPES = [
  "fixed_small",
  "fixed_small_log",
  "fixed_large",
  "learned",
  "learned_range",
];

/**
 * Ancestral sampling of Denoising Diffusion Probabilistic Models (Ho et al. 2020), as diffusers'
 * `DDPMScheduler`. Every step but the one at t = 0 adds posterior noise drawn from `options.noise`
 * (numpy-ordered normals, not torch's generator). Variance types fixed_small, fixed_small_log,
 * fixed_large, learned and learned_range (the last two read the variance from a model output with
 * twice the sample's channels).
 *
 * @example
 * const s = new DDPMScheduler({});
 * s.setTimesteps(1000);
 * for (const t of s.timesteps) x = s.step(unet(x, t), t, x, { noise: rng }).prevSample;
 */
export class DDPMScheduler extends AlphaScheduler implements Scheduler {
  readonly name = NAME;
  private ready = false;

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, DDPM_DEFAULTS);
    const variance = resolved.variance_type;
    if (variance === null || !VARIANCE_TYPES.includes(variance)) {
      throw new SchedulerError(
        `${NAME}: variance_type must be one of ${VARIANCE_TYPES.join(", ")}, got ${JSON.stringify(variance)}`,
        { param: "variance_type" },
      );
    }
    const schedules = [
      "linear",
      "scaled_linear",
      "squaredcos_cap_v2",
      "laplace",
      "sigmoid",
    ] as const;
    super(resolved, alphasCumprodOf(makeBetas(resolved, NAME, schedules)), 1);
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkSteps(NAME, numInferenceSteps, c.num_train_timesteps);
    this.schedule = integerTimesteps(
      c.timestep_spacing,
      c.num_train_timesteps,
      numInferenceSteps,
      c.steps_offset,
    );
    this.ready = true;
  }

  /** Uses an explicit descending list of training timesteps instead of a spacing (diffusers' `timesteps=`). */
  setCustomTimesteps(timesteps: readonly number[]): void {
    this.schedule = checkCustomTimesteps(NAME, timesteps, this.config.num_train_timesteps);
    this.ready = true;
  }

  /** The timestep after `timestep` in the current schedule, -1 after the last. */
  previousTimestep(timestep: number): number {
    return this.schedule[indexForTimestep(this.schedule, timestep, NAME) + 1] ?? -1;
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: StepOptions = {},
  ): StepOutput {
    if (!this.ready) throw new SchedulerError(`${NAME}.step: call setTimesteps first`);
    const c = this.config;
    const x = sample.data;
    let output = modelOutput.data;
    let predictedVariance: Float32Array | null = null;
    const learned = c.variance_type === "learned" || c.variance_type === "learned_range";
    if (learned && modelOutput.dims[1] === (sample.dims[1] ?? 0) * 2) {
      [output, predictedVariance] = splitChannels(modelOutput);
    } else {
      checkSameDims(NAME, "model output", modelOutput, sample);
    }
    if (learned && predictedVariance === null) {
      throw new SchedulerError(
        `${NAME}: variance_type ${c.variance_type} needs a model output with twice the sample's channels`,
      );
    }

    const prevT = this.previousTimestep(timestep);
    const alphaProdT = this.alphaProd(timestep);
    const alphaProdPrev = this.alphaProdOrFinal(prevT);
    const betaProdT = f32(1 - alphaProdT);
    const betaProdPrev = f32(1 - alphaProdPrev);
    const currentAlpha = f32(alphaProdT / alphaProdPrev);
    const currentBeta = f32(1 - currentAlpha);

    const predOriginal = this.predictOriginal(output, x, alphaProdT, sample.dims);
    const originalCoeff = f32(f32(f32(Math.sqrt(alphaProdPrev)) * currentBeta) / betaProdT);
    const sampleCoeff = f32(f32(f32(Math.sqrt(currentAlpha)) * betaProdPrev) / betaProdT);
    const prev = weightedSum(originalCoeff, predOriginal, sampleCoeff, x);

    if (timestep > 0) {
      if (options.noise === undefined) {
        throw new SchedulerError(`${NAME}.step: options.noise is required for t > 0`, {
          param: "noise",
        });
      }
      const noise = options.noise.randn(x.length);
      // Posterior variance, clamped away from 0 so its log stays finite.
      const variance = Math.max(f32(f32(betaProdPrev / betaProdT) * currentBeta), f32(1e-20));
      if (c.variance_type === "learned" || c.variance_type === "learned_range") {
        const minLog = f32(Math.log(variance));
        const maxLog = f32(Math.log(currentBeta));
        const pv = predictedVariance!;
        for (let i = 0; i < x.length; i++) {
          let std: number;
          if (c.variance_type === "learned") std = f32(Math.sqrt(pv[i]!));
          else {
            const frac = f32(f32(pv[i]! + 1) / 2);
            const logVar = f32(f32(frac * maxLog) + f32(f32(1 - frac) * minLog));
            std = f32(Math.exp(f32(0.5 * logVar)));
          }
          prev[i] = prev[i]! + f32(std * noise[i]!);
        }
      } else {
        let std: number;
        if (c.variance_type === "fixed_small_log")
          std = f32(Math.exp(f32(0.5 * f32(Math.log(variance)))));
        else std = f32(Math.sqrt(c.variance_type === "fixed_large" ? currentBeta : variance));
        addScaled(prev, std, noise, prev);
      }
    }
    return {
      prevSample: tensor(prev, sample.dims),
      predOriginalSample: tensor(predOriginal, sample.dims),
    };
  }
}

/** Splits a [B, 2C, ...] model output into the prediction and the predicted variance ([B, C, ...] each). */
function splitChannels(output: Tensor): [Float32Array, Float32Array] {
  const [batch = 1, channels2 = 0] = output.dims;
  const inner = output.data.length / (batch * channels2);
  const half = (channels2 / 2) * inner;
  const first = new Float32Array(batch * half);
  const second = new Float32Array(batch * half);
  for (let b = 0; b < batch; b++) {
    const base = b * 2 * half;
    first.set(output.data.subarray(base, base + half), b * half);
    second.set(output.data.subarray(base + half, base + 2 * half), b * half);
  }
  return [first, second];
}
