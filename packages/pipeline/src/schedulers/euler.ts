import { type Tensor, tensor } from "../tensor/index.ts";
import {
  alphasCumprodOf,
  checkSameDims,
  checkSteps,
  f32,
  kDiffusionSchedule,
  makeBetas,
  predictOriginalFromSigma,
  SigmaScheduler,
  sigmaSpacingOf,
} from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "EulerDiscreteScheduler";

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
  private ready = false;

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, EULER_DEFAULTS);
    const alphasCumprod = alphasCumprodOf(makeBetas(resolved, NAME));
    // Zero terminal SNR would make the first sigma infinite; diffusers nudges it to fp16's smallest subnormal.
    if (resolved.rescale_betas_zero_snr) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
    super(resolved, alphasCumprod);
    sigmaSpacingOf(resolved, NAME);
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkSteps(NAME, numInferenceSteps, c.num_train_timesteps);
    const spacing = sigmaSpacingOf(c, NAME);
    const { sigmas, timesteps } = kDiffusionSchedule(
      c,
      this.trainSigmas,
      numInferenceSteps,
      spacing,
      [c.sigma_min, c.sigma_max],
      c.interpolation_type === "log_linear",
    );
    const a0 = this.alphasCumprod[0]!;
    const sigmaLast =
      c.final_sigmas_type === "sigma_min" ? f32(Math.sqrt(f32(f32(1 - a0) / a0))) : 0;
    this.sigmas = Float32Array.from([...sigmas, sigmaLast]);
    if (c.timestep_type === "continuous" && c.prediction_type === "v_prediction") {
      this.schedule = Array.from(this.sigmas.subarray(0, -1), (s) => f32(0.25 * f32(Math.log(s))));
    } else {
      this.schedule = Array.from(timesteps, f32);
    }
    this.stepIndex = null;
    this.ready = true;
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    _options: StepOptions = {},
  ): StepOutput {
    this.requireRun(this.ready);
    checkSameDims(NAME, "model output", modelOutput, sample);
    const index = this.currentIndex(timestep);
    const sigma = this.sigmaAt(index);
    const sigmaNext = this.sigmaAt(index + 1);
    const x = sample.data;
    const predOriginal = predictOriginalFromSigma(
      this.config.prediction_type,
      modelOutput.data,
      x,
      sigma,
      NAME,
    );
    const dt = f32(sigmaNext - sigma);
    const prev = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const derivative = f32(f32(x[i]! - predOriginal[i]!) / sigma);
      prev[i] = x[i]! + f32(derivative * dt);
    }
    this.stepIndex = index + 1;
    return {
      prevSample: tensor(prev, sample.dims),
      predOriginalSample: tensor(predOriginal, sample.dims),
    };
  }
}
