import type { Tensor } from "../tensor/index.ts";
import { addScaled, alphasCumprodOf, clampInPlace, makeBetas, sigmaSpacingOf } from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SigmaScheduler, toDerivative } from "./sigma-scheduler.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "HeunDiscreteScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/** HeunDiscreteScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const HEUN_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  beta_start: 0.00085,
  beta_end: 0.012,
  clip_sample: false,
  timestep_spacing: "linspace",
};

/**
 * Heun's second-order method on the k-diffusion ODE (Karras et al. 2022, Algorithm 1 without churn), as
 * diffusers' `HeunDiscreteScheduler`. Every timestep but the first appears twice in `timesteps`
 * ([t0, t1, t1, t2, t2, ...]): the first visit takes an Euler step, the second corrects it with the
 * averaged slope, so a run costs 2n-1 model calls. Epsilon, v_prediction and sample outputs; Karras or
 * exponential sigmas.
 *
 * @example
 * const s = new HeunDiscreteScheduler({ beta_schedule: "scaled_linear" });
 * s.setTimesteps(20); // s.timesteps.length === 39
 */
export class HeunDiscreteScheduler extends SigmaScheduler implements Scheduler {
  readonly name = NAME;
  readonly order = 2;
  /** First-order state kept for the second visit: slope, step size and the sample it started from. */
  private pending: { derivative: Float32Array; dt: number; sample: Float32Array } | null = null;

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, HEUN_DEFAULTS);
    const schedules = ["linear", "scaled_linear", "squaredcos_cap_v2", "exp"] as const;
    const betas = makeBetas({ ...resolved, rescale_betas_zero_snr: false }, NAME, schedules);
    super(resolved, alphasCumprodOf(betas), sigmaSpacingOf(resolved, NAME));
  }

  setTimesteps(numInferenceSteps: number): void {
    const { sigmas, timesteps } = this.kDiffusionSchedule(numInferenceSteps);
    this.startRun([...repeatAfterFirst(sigmas), 0], repeatAfterFirst(timesteps));
    this.pending = null;
  }

  /** True when the next `step` is an Euler (first-order) step. */
  get stateInFirstOrder(): boolean {
    return this.pending === null;
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    _options: StepOptions = {},
  ): StepOutput {
    this.checkStep(modelOutput, sample);
    const index = this.currentIndex(timestep);
    const pending = this.pending;
    const sigma = pending === null ? this.sigmaAt(index) : this.sigmaAt(index - 1);
    const sigmaNext = pending === null ? this.sigmaAt(index + 1) : this.sigmaAt(index);
    const x = sample.data;
    const predOriginal = this.predictOriginal(
      modelOutput,
      sample,
      pending === null ? sigma : sigmaNext,
    );
    if (this.config.clip_sample) clampInPlace(predOriginal, this.config.clip_sample_range);

    let prev: Float32Array;
    if (pending === null) {
      const dt = f32(sigmaNext - sigma);
      const derivative = toDerivative(x, predOriginal, sigma);
      prev = addScaled(x, dt, derivative);
      this.pending = { derivative, dt, sample: x };
    } else {
      prev = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const slope = f32(f32(x[i]! - predOriginal[i]!) / sigmaNext);
        const averaged = f32(f32(pending.derivative[i]! + slope) / 2);
        prev[i] = pending.sample[i]! + f32(averaged * pending.dt);
      }
      this.pending = null;
    }
    return this.finishStep(index, prev, predOriginal, sample.dims);
  }
}

/** [v0, v1, v1, v2, v2, ...]: every value but the first twice, for the two visits of a Heun step. */
function repeatAfterFirst(values: ArrayLike<number>): number[] {
  return Array.from(values).flatMap((v, i) => (i === 0 ? [v] : [v, v]));
}
