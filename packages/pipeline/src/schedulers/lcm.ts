import { type Tensor, tensor } from "../tensor/index.ts";
import { AlphaScheduler } from "./alpha-scheduler.ts";
import {
  addNoiseAt,
  alphasCumprodOf,
  checkCustomTimesteps,
  checkSameDims,
  checkSteps,
  indexForTimestep,
  levelFromAlphaProd,
  makeBetas,
  numpyLinspace,
  weightedSum,
} from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SchedulerError } from "./errors.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "LCMScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/** LCMScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const LCM_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  original_inference_steps: 50,
  clip_sample: false,
  set_alpha_to_one: true,
  timestep_spacing: "leading",
  timestep_scaling: 10.0,
};

/** sigma_data of the consistency-model boundary condition (Song et al. 2023). */
const SIGMA_DATA = 0.5;

/**
 * Multistep consistency sampling for Latent Consistency Models (Luo et al. 2023), as diffusers'
 * `LCMScheduler`. The timesteps are a subset of the `original_inference_steps`-point distillation
 * schedule; each step maps to the denoised estimate with the consistency boundary scalings, then
 * re-noises it to the next timestep with draws from `options.noise` (all steps but the last): numpy
 * RandomState normals in Easel, where diffusers draws from torch's generator, so the same seed gives
 * different images. `predOriginalSample` is LCM's `denoised`. Epsilon, v_prediction and sample outputs.
 *
 * @example
 * const s = new LCMScheduler(config);
 * s.setTimesteps(4); // [999, 759, 499, 259]
 */
export class LCMScheduler extends AlphaScheduler implements Scheduler {
  readonly name = NAME;
  private ready = false;
  private stepIndex: number | null = null;

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, LCM_DEFAULTS);
    super(resolved, alphasCumprodOf(makeBetas(resolved, NAME)));
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const original = c.original_inference_steps;
    if (original > c.num_train_timesteps) {
      throw new SchedulerError(
        `${NAME}: original_inference_steps must be at most num_train_timesteps (${c.num_train_timesteps}), got ${original}`,
        { param: "original_inference_steps" },
      );
    }
    checkSteps(NAME, numInferenceSteps, Math.min(c.num_train_timesteps, original));
    const k = Math.floor(c.num_train_timesteps / original);
    // The distillation schedule, descending: original*k - 1, ..., 2k - 1, k - 1.
    const origin = Array.from({ length: original }, (_, i) => (original - i) * k - 1);
    const indices = numpyLinspace(0, origin.length, numInferenceSteps, false);
    this.schedule = Array.from(indices, (v) => origin[Math.floor(v)]!);
    this.stepIndex = null;
    this.ready = true;
  }

  /** Uses an explicit descending list of training timesteps (diffusers' `set_timesteps(timesteps=...)`). */
  setCustomTimesteps(timesteps: readonly number[]): void {
    this.schedule = checkCustomTimesteps(NAME, timesteps, this.config.num_train_timesteps);
    this.stepIndex = null;
    this.ready = true;
  }

  /** The timestep after `timestep` in the current schedule, -1 after the last. */
  previousTimestep(timestep: number): number {
    const index = indexForTimestep(this.schedule, timestep, NAME);
    return this.schedule[index + 1] ?? -1;
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: StepOptions = {},
  ): StepOutput {
    if (!this.ready) throw new SchedulerError(`${NAME}.step: call setTimesteps first`);
    checkSameDims(NAME, "model output", modelOutput, sample);
    const c = this.config;
    this.stepIndex ??= indexForTimestep(this.schedule, timestep, NAME);
    const index = this.stepIndex;
    const prevTimestep = this.schedule[index + 1] ?? timestep;
    const alphaProdT = this.alphaProd(timestep);
    const alphaProdPrev = this.alphaProdOrFinal(prevTimestep);

    // Boundary-condition scalings on a float32 tensor timestep, as in diffusers' pipelines.
    const scaled = f32(timestep * f32(c.timestep_scaling));
    const scaledSq = f32(f32(scaled * scaled) + SIGMA_DATA * SIGMA_DATA);
    const cSkip = f32((SIGMA_DATA * SIGMA_DATA) / scaledSq);
    const cOut = f32(scaled / f32(Math.sqrt(scaledSq)));

    const x = sample.data;
    const predOriginal = this.predictOriginal(modelOutput.data, x, alphaProdT, sample.dims);
    const denoised = weightedSum(cOut, predOriginal, cSkip, x);

    let prev = denoised;
    if (index !== this.schedule.length - 1) {
      if (options.noise === undefined) {
        throw new SchedulerError(`${NAME}.step: options.noise is required before the last step`, {
          param: "noise",
        });
      }
      const noise = options.noise.randn(x.length);
      prev = addNoiseAt(levelFromAlphaProd(alphaProdPrev), denoised, noise);
    }
    this.stepIndex = index + 1;
    return {
      prevSample: tensor(prev, sample.dims),
      predOriginalSample: tensor(denoised, sample.dims),
    };
  }
}
