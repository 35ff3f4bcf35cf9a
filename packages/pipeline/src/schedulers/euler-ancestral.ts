import type { Tensor } from "../tensor/index.ts";
import { addScaled, sigmaSafeAlphasCumprod } from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SchedulerError } from "./errors.ts";
import { SigmaScheduler, toDerivative } from "./sigma-scheduler.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "EulerAncestralDiscreteScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

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

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, EULER_ANCESTRAL_DEFAULTS);
    // diffusers' Euler Ancestral has no Karras/exponential option: those config keys are ignored.
    super(resolved, sigmaSafeAlphasCumprod(resolved, NAME), "interpolated");
  }

  setTimesteps(numInferenceSteps: number): void {
    const { sigmas, timesteps } = this.kDiffusionSchedule(numInferenceSteps);
    this.startRun([...sigmas, 0], timesteps);
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: StepOptions = {},
  ): StepOutput {
    this.checkStep(modelOutput, sample);
    if (options.noise === undefined) {
      throw new SchedulerError(
        `${NAME}.step: options.noise is required (ancestral steps add noise)`,
        { param: "noise" },
      );
    }
    const index = this.currentIndex(timestep);
    const sigma = this.sigmaAt(index);
    const sigmaTo = this.sigmaAt(index + 1);
    const x = sample.data;
    const predOriginal = this.predictOriginal(modelOutput, sample, sigma, [
      "epsilon",
      "v_prediction",
    ]);
    const fromSq = f32(sigma * sigma);
    const toSq = f32(sigmaTo * sigmaTo);
    const sigmaUp = f32(Math.sqrt(f32(f32(toSq * f32(fromSq - toSq)) / fromSq)));
    const sigmaDown = f32(Math.sqrt(f32(toSq - f32(sigmaUp * sigmaUp))));
    const dt = f32(sigmaDown - sigma);
    const prev = addScaled(x, dt, toDerivative(x, predOriginal, sigma));
    addScaled(prev, sigmaUp, options.noise.randn(x.length), prev);
    return this.finishStep(index, prev, predOriginal, sample.dims);
  }
}
