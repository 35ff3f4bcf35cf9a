import type { Tensor } from "../tensor/index.ts";

/** Source of standard normal noise for stochastic schedulers (numpy's legacy RandomState in the pipeline). */
export interface NoiseSource {
  /** `n` standard normal draws, in the order numpy's `randn(n)` would give them, as float32. */
  randn(n: number): Float32Array;
}

export interface StepOptions {
  /** DDIM's eta (0 = deterministic). Ignored by schedulers without it. */
  eta?: number;
  /** Noise for stochastic steps (Euler Ancestral, DDPM, LCM, DDIM with eta > 0). */
  noise?: NoiseSource;
}

export interface StepOutput {
  prevSample: Tensor;
  /** The model's estimate of the clean sample x0, when the algorithm computes it (for previews). */
  predOriginalSample?: Tensor;
}

/**
 * The interface every scheduler implements, mirroring diffusers' SchedulerMixin:
 * `setTimesteps` once per run, then per timestep `scaleModelInput` before the UNet and `step` after it.
 * Timesteps are plain numbers (discrete schedulers give integers, k-diffusion ones may give fractions).
 */
export interface Scheduler {
  /** diffusers class name, e.g. "EulerDiscreteScheduler". */
  readonly name: string;
  /** Multistep order used by diffusers to slice timesteps for img2img (PNDM/Heun = 2, others 1). */
  readonly order: number;
  /** Std-dev of the initial noise (1 for DDPM-family, sigma_max-derived for k-diffusion). Valid after setTimesteps. */
  readonly initNoiseSigma: number;
  /** The timesteps of the current run, in the order they are visited. Valid after setTimesteps. */
  readonly timesteps: readonly number[];
  setTimesteps(numInferenceSteps: number): void;
  scaleModelInput(sample: Tensor, timestep: number): Tensor;
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options?: StepOptions): StepOutput;
  /** Forward-diffuses `original` to `timestep` with `noise` (img2img, inpainting). */
  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor;
}
