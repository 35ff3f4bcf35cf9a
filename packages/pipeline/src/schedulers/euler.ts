import type { Tensor } from "../tensor/index.ts";
import { addScaled, sigmaSafeAlphasCumprod, sigmaSpacingOf } from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SigmaScheduler, toDerivative } from "./sigma-scheduler.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "EulerDiscreteScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/** EulerDiscreteScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const EULER_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  timestep_spacing: "linspace",
  final_sigmas_type: "zero",
};

/**
 * Euler's method on the k-diffusion ODE (Karras et al. 2022, Algorithm 2 without churn), as diffusers'
 * `EulerDiscreteScheduler`: epsilon, v_prediction and sample outputs; linear or log-linear sigma
 * interpolation, Karras or exponential sigmas; discrete or continuous (v-prediction) timesteps.
 * Deterministic: diffusers only draws noise when `s_churn > 0`, which this port does not expose.
 *
 * @example
 * const s = new EulerDiscreteScheduler({ use_karras_sigmas: true });
 * s.setTimesteps(25);
 * let x = scaled(noise, s.initNoiseSigma);
 * for (const t of s.timesteps) x = s.step(unet(s.scaleModelInput(x, t), t), t, x).prevSample;
 */
export class EulerDiscreteScheduler extends SigmaScheduler implements Scheduler {
  readonly name = NAME;
  readonly order = 1;

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, EULER_DEFAULTS);
    super(resolved, sigmaSafeAlphasCumprod(resolved, NAME), sigmaSpacingOf(resolved, NAME));
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const { sigmas, timesteps } = this.kDiffusionSchedule(
      numInferenceSteps,
      [c.sigma_min, c.sigma_max],
      c.interpolation_type === "log_linear",
    );
    // "sigma_min" ends the run on the training sigma of t = 0 instead of 0.
    const sigmaLast = c.final_sigmas_type === "sigma_min" ? this.trainSigmas[0]! : 0;
    const all = Float32Array.from([...sigmas, sigmaLast]);
    const continuous = c.timestep_type === "continuous" && c.prediction_type === "v_prediction";
    this.startRun(
      all,
      continuous ? all.subarray(0, -1).map((s) => 0.25 * f32(Math.log(s))) : timesteps,
    );
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    _options: StepOptions = {},
  ): StepOutput {
    this.checkStep(modelOutput, sample);
    const index = this.currentIndex(timestep);
    const sigma = this.sigmaAt(index);
    const dt = f32(this.sigmaAt(index + 1) - sigma);
    const predOriginal = this.predictOriginal(modelOutput, sample, sigma);
    const prev = addScaled(sample.data, dt, toDerivative(sample.data, predOriginal, sigma));
    return this.finishStep(index, prev, predOriginal, sample.dims);
  }
}
