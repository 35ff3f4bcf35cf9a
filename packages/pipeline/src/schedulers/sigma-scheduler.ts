import { type Tensor, tensor } from "../tensor/index.ts";
import {
  addScaled,
  checkSameDims,
  checkSteps,
  exponentialSigmas,
  floatTimesteps,
  indexForTimestep,
  inputScale,
  interpOnIndexGrid,
  karrasSigmas,
  logF32,
  type PredictionType,
  predictOriginalFromSigma,
  type SigmaSpacing,
  sigmasFromAlphasCumprod,
  sigmaToT,
  torchLinspaceF32,
} from "./common.ts";
import type { ResolvedSchedulerConfig } from "./config.ts";
import { SchedulerError } from "./errors.ts";
import type { StepOutput } from "./types.ts";

/*
 * The k-diffusion family (Euler, Euler Ancestral, Heun, LMS): schedulers that walk down a sigma
 * schedule, scale the model input by (sigma² + 1)^-½ and treat the sample as x0 + sigma * noise.
 */

/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/**
 * What Euler, Euler Ancestral, Heun and LMS share: a float32 sigma per schedule position, a step index
 * found from the first timestep seen (diffusers' `_init_step_index`), the `(sigma²+1)^-½` input scaling,
 * `x0 + noise * sigma` forward diffusion and the bookkeeping around each step.
 */
export abstract class SigmaScheduler {
  abstract readonly name: string;
  readonly config: ResolvedSchedulerConfig;
  readonly alphasCumprod: Float32Array;
  /** Training sigmas, ascending with t (float32). */
  protected readonly trainSigmas: Float32Array;
  /** One sigma per schedule position plus the final one (float32). */
  protected sigmas: Float32Array;
  protected schedule: number[];
  protected stepIndex: number | null = null;
  /** How sigmas are respaced after interpolation (Euler Ancestral ignores the config flags). */
  private readonly spacing: SigmaSpacing;
  private ready = false;

  protected constructor(
    config: ResolvedSchedulerConfig,
    alphasCumprod: Float32Array,
    spacing: SigmaSpacing,
  ) {
    this.config = config;
    this.alphasCumprod = alphasCumprod;
    this.spacing = spacing;
    this.trainSigmas = sigmasFromAlphasCumprod(alphasCumprod);
    // Before setTimesteps diffusers holds the full training schedule; only initNoiseSigma reads it.
    this.sigmas = Float32Array.from([...this.trainSigmas].reverse().concat([0]));
    this.schedule = Array.from(
      { length: config.num_train_timesteps },
      (_, i) => config.num_train_timesteps - 1 - i,
    );
  }

  get timesteps(): readonly number[] {
    return this.schedule;
  }

  /** sigma_max for linspace/trailing spacing, sqrt(sigma_max² + 1) for leading (diffusers' rule). */
  get initNoiseSigma(): number {
    let max = 0;
    for (const s of this.sigmas) if (s > max) max = s;
    const spacing = this.config.timestep_spacing;
    return spacing === "linspace" || spacing === "trailing" ? max : inputScale(max);
  }

  /** The sigmas of the current run (float32), one per timestep plus the final one. */
  get sigmaSchedule(): Float32Array {
    return this.sigmas;
  }

  scaleModelInput(sample: Tensor, timestep: number): Tensor {
    const index = this.currentIndex(timestep);
    const scale = inputScale(this.sigmaAt(index));
    return { data: sample.data.map((v) => v / scale), dims: [...sample.dims] };
  }

  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    checkSameDims(this.name, "noise", noise, original);
    const sigma = this.sigmaAt(indexForTimestep(this.schedule, timestep, this.name));
    return { data: addScaled(original.data, sigma, noise.data), dims: [...original.dims] };
  }

  /**
   * Checks the step count and returns the inference sigmas (descending, float64, without the final one)
   * and matching timesteps of Euler/Heun/LMS's `set_timesteps`: training sigmas interpolated at the
   * spaced timesteps (or, for Euler's `interpolation_type: "log_linear"`, n+1 log-spaced sigmas from
   * sigma_max to sigma_min), then optionally respaced (Karras/exponential) with timesteps recovered by
   * `sigmaToT`. `bounds` are the sigma_min/sigma_max overrides (null = the ends of the interpolated
   * sigmas): only Euler declares them in diffusers, so Heun and LMS ignore the config file's.
   */
  protected kDiffusionSchedule(
    numInferenceSteps: number,
    bounds: readonly [number | null, number | null] = [null, null],
    logLinear = false,
  ): { sigmas: Float64Array; timesteps: ArrayLike<number> } {
    const c = this.config;
    const trainSigmas = this.trainSigmas;
    checkSteps(this.name, numInferenceSteps, c.num_train_timesteps);
    const timesteps = floatTimesteps(
      c.timestep_spacing,
      c.num_train_timesteps,
      numInferenceSteps,
      c.steps_offset,
    );
    let sigmas: Float64Array;
    if (logLinear) {
      const last = trainSigmas.length - 1;
      const logs = torchLinspaceF32(
        Math.log(trainSigmas[last]!),
        Math.log(trainSigmas[0]!),
        numInferenceSteps + 1,
      );
      sigmas = Float64Array.from(logs, (v) => f32(Math.exp(v)));
    } else {
      sigmas = interpOnIndexGrid(timesteps, trainSigmas);
    }
    if (this.spacing === "interpolated") return { sigmas, timesteps };
    const logSigmas = logF32(trainSigmas);
    const sigmaMin = bounds[0] ?? sigmas[sigmas.length - 1]!;
    const sigmaMax = bounds[1] ?? sigmas[0]!;
    const respaced =
      this.spacing === "karras"
        ? karrasSigmas(sigmaMin, sigmaMax, numInferenceSteps)
        : exponentialSigmas(sigmaMin, sigmaMax, numInferenceSteps);
    return { sigmas: respaced, timesteps: respaced.map((s) => sigmaToT(s, logSigmas)) };
  }

  /** Starts a run on `sigmas` (one per timestep plus the final one) and `timesteps`, both cast to float32. */
  protected startRun(sigmas: ArrayLike<number>, timesteps: ArrayLike<number>): void {
    this.sigmas = Float32Array.from(sigmas);
    this.schedule = Array.from(timesteps, f32);
    this.stepIndex = null;
    this.ready = true;
  }

  /** Throws unless setTimesteps has run (diffusers would use the 1000-step training schedule) and dims agree. */
  protected checkStep(modelOutput: Tensor, sample: Tensor): void {
    if (!this.ready) throw new SchedulerError(`${this.name}.step: call setTimesteps first`);
    checkSameDims(this.name, "model output", modelOutput, sample);
  }

  /** The step index, found from `timestep` on the first call of a run. */
  protected currentIndex(timestep: number): number {
    if (this.stepIndex === null)
      this.stepIndex = indexForTimestep(this.schedule, timestep, this.name);
    return this.stepIndex;
  }

  protected sigmaAt(index: number): number {
    const sigma = this.sigmas[index];
    if (sigma === undefined) {
      throw new SchedulerError(
        `${this.name}: step ${index} is past the end of the ${this.schedule.length}-step schedule`,
      );
    }
    return sigma;
  }

  /** x0 from the model output at noise level `sigma`, for the config's prediction_type. */
  protected predictOriginal(
    modelOutput: Tensor,
    sample: Tensor,
    sigma: number,
    allowed?: readonly PredictionType[],
  ): Float32Array {
    const type = this.config.prediction_type;
    return predictOriginalFromSigma(type, modelOutput.data, sample.data, sigma, this.name, allowed);
  }

  /** Moves past step `index` and returns its results with the sample's dims. */
  protected finishStep(
    index: number,
    prev: Float32Array,
    predOriginal: Float32Array,
    dims: readonly number[],
  ): StepOutput {
    this.stepIndex = index + 1;
    return { prevSample: tensor(prev, dims), predOriginalSample: tensor(predOriginal, dims) };
  }
}

/** k-diffusion's `to_d`: the ODE slope (x - x0) / sigma, in float32. */
export function toDerivative(x: Float32Array, x0: Float32Array, sigma: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(x[i]! - x0[i]!) / sigma;
  return out;
}
