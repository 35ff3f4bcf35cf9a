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
} from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SchedulerError } from "./errors.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "EulerAncestralDiscreteScheduler";

/** EulerAncestralDiscreteScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const EULER_ANCESTRAL_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  timestep_spacing: "linspace",
};

/**
 * Ancestral sampling with Euler steps (k-diffusion's `sample_euler_ancestral`), as diffusers'
 * `EulerAncestralDiscreteScheduler`: each step goes down to sigma_down deterministically, then adds
 * fresh noise of std sigma_up. Every step draws `sample.length` normals from `options.noise`, the last
 * one too (scaled by 0), so the draw count matches diffusers. Epsilon and v_prediction outputs.
 *
 * Stochastic steps here take numpy-ordered normals (numpy's legacy RandomState, like diffusers' ONNX
 * pipelines), not torch's generator: the same seed gives different images than diffusers' torch pipelines.
 *
 * @example
 * const s = new EulerAncestralDiscreteScheduler({});
 * s.setTimesteps(30);
 * for (const t of s.timesteps) x = s.step(unet(s.scaleModelInput(x, t), t), t, x, { noise: rng }).prevSample;
 */
export class EulerAncestralDiscreteScheduler extends SigmaScheduler implements Scheduler {
  readonly name = NAME;
  readonly order = 1;
  private ready = false;

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, EULER_ANCESTRAL_DEFAULTS);
    const alphasCumprod = alphasCumprodOf(makeBetas(resolved, NAME));
    if (resolved.rescale_betas_zero_snr) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
    super(resolved, alphasCumprod);
  }

  setTimesteps(numInferenceSteps: number): void {
    checkSteps(NAME, numInferenceSteps, this.config.num_train_timesteps);
    // diffusers' Euler Ancestral has no Karras/exponential option: those config keys are ignored.
    const { sigmas, timesteps } = kDiffusionSchedule(
      this.config,
      this.trainSigmas,
      numInferenceSteps,
      "interpolated",
      [null, null],
    );
    this.sigmas = Float32Array.from([...sigmas, 0]);
    this.schedule = Array.from(timesteps, f32);
    this.stepIndex = null;
    this.ready = true;
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: StepOptions = {},
  ): StepOutput {
    this.requireRun(this.ready);
    checkSameDims(NAME, "model output", modelOutput, sample);
    if (options.noise === undefined) {
      throw new SchedulerError(
        `${NAME}.step: options.noise is required (ancestral steps add noise)`,
        {
          param: "noise",
        },
      );
    }
    const index = this.currentIndex(timestep);
    const sigma = this.sigmaAt(index);
    const sigmaTo = this.sigmaAt(index + 1);
    const x = sample.data;
    const predOriginal = predictOriginalFromSigma(
      this.config.prediction_type,
      modelOutput.data,
      x,
      sigma,
      NAME,
      ["epsilon", "v_prediction"],
    );
    const fromSq = f32(sigma * sigma);
    const toSq = f32(sigmaTo * sigmaTo);
    const sigmaUp = f32(Math.sqrt(f32(f32(toSq * f32(fromSq - toSq)) / fromSq)));
    const sigmaDown = f32(Math.sqrt(f32(toSq - f32(sigmaUp * sigmaUp))));
    const dt = f32(sigmaDown - sigma);
    const noise = options.noise.randn(x.length);
    const prev = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const derivative = f32(f32(x[i]! - predOriginal[i]!) / sigma);
      prev[i] = f32(x[i]! + f32(derivative * dt)) + f32(noise[i]! * sigmaUp);
    }
    this.stepIndex = index + 1;
    return {
      prevSample: tensor(prev, sample.dims),
      predOriginalSample: tensor(predOriginal, sample.dims),
    };
  }
}
