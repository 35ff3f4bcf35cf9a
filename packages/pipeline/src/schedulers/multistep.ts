import { type Tensor, tensor } from "../tensor/index.ts";
import {
  addNoiseAt,
  addScaled,
  checkSameDims,
  checkSteps,
  exponentialSigmas,
  indexForTimestep,
  integerTimesteps,
  karrasSigmas,
  levelFromAlphaProd,
  levelFromSigma,
  logF32,
  numpyLinspace,
  type PredictionType,
  predictEpsilon,
  predictOriginal,
  roundHalfEven,
  sigmaSpacingOf,
  sigmasFromAlphasCumprod,
  sigmaToT,
  thresholdSample,
  trailingTimesteps,
  unsupportedPrediction,
} from "./common.ts";
import type { ResolvedSchedulerConfig } from "./config.ts";
import { SchedulerError } from "./errors.ts";
import type { StepOutput } from "./types.ts";

/*
 * What DPMSolverMultistepScheduler and UniPCMultistepScheduler share in diffusers (UniPC's methods are
 * "Copied from" DPM-Solver's): the timestep/sigma schedule, the conversion of model outputs to x0 or
 * eps, the history of converted outputs, forward diffusion and the bookkeeping around each step.
 */

/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/**
 * Rejects the config flags neither multistep scheduler implements here (they need scipy or `mu`).
 * `use_lu_lambdas` is not a UniPC setting: like diffusers' `from_config`, UniPC ignores it.
 */
export function checkMultistepConfig(config: ResolvedSchedulerConfig, owner: string): void {
  const unsupported = (param: keyof ResolvedSchedulerConfig, why: string): never => {
    throw new SchedulerError(`${owner}: ${param} is not supported (${why})`, { param });
  };
  if (config.use_beta_sigmas) unsupported("use_beta_sigmas", "it needs scipy's beta quantiles");
  if (config.use_flow_sigmas)
    unsupported("use_flow_sigmas", "flow-matching models are not supported");
  if (config.use_dynamic_shifting)
    unsupported("use_dynamic_shifting", "flow-matching models are not supported");
  // As in diffusers, use_lu_lambdas may coexist with these; Karras sigmas then take precedence.
  sigmaSpacingOf(config, owner);
}

/** The prediction types a solver converts: data prediction (x0) also takes flow-matching outputs. */
export function checkMultistepPrediction(
  predictionType: PredictionType,
  dataPrediction: boolean,
  owner: string,
): void {
  const allowed: PredictionType[] = ["epsilon", "sample", "v_prediction"];
  if (dataPrediction) allowed.push("flow_prediction");
  if (!allowed.includes(predictionType))
    throw unsupportedPrediction(owner, predictionType, allowed);
}

/** Which of diffusers' two `set_timesteps` variants to follow (they differ in small ways). */
export interface ScheduleRules {
  /** DPM-Solver: clip the schedule where lambda falls below `lambda_min_clipped`. */
  lambdaClipping: boolean;
  /** DPM-Solver: `use_lu_lambdas` is available. */
  luLambdas: boolean;
  /** DPM-Solver skips rounding Karras/Lu timesteps for `squaredcos_cap_v2`; UniPC always rounds. */
  roundUnlessCosine: boolean;
  /** UniPC reads `sigma_min`/`sigma_max` from the config; DPM-Solver's config has no such keys. */
  configSigmaBounds: boolean;
  /** UniPC ends a respaced (Karras/exponential) schedule on its own last sigma; DPM-Solver on sigma(t=0). */
  respacedSigmaLast: boolean;
}

/** A run's schedule: integer timesteps and one float32 sigma per timestep plus the final one. */
export interface MultistepSchedule {
  timesteps: number[];
  sigmas: Float32Array;
}

/**
 * The timesteps and sigmas of diffusers' `set_timesteps(n)` for the multistep solvers:
 * spaced integer timesteps (`linspace`: round(linspace(0, T-1, n+1)) without the 0; `leading`:
 * k * (T // (n+1)) + steps_offset for k = n..1; `trailing`: round(arange(T, 0, -T/n)) - 1), their
 * training sigmas, or Karras / exponential / Lu-lambda sigmas with timesteps recovered by `sigmaToT`,
 * then the final sigma (0 for `final_sigmas_type: "zero"`).
 */
export function multistepSchedule(
  config: ResolvedSchedulerConfig,
  alphasCumprod: Float32Array,
  numInferenceSteps: number,
  rules: ScheduleRules,
): MultistepSchedule {
  const T = config.num_train_timesteps;
  const n = numInferenceSteps;
  const trainSigmas = sigmasFromAlphasCumprod(alphasCumprod);
  const lastTimestep = rules.lambdaClipping
    ? T - clippedCount(alphasCumprod, config.lambda_min_clipped)
    : T;

  const spacing = config.timestep_spacing;
  // linspace and leading spread n+1 points and drop the last; trailing steps by T / n.
  let timesteps =
    spacing === "trailing"
      ? trailingTimesteps(lastTimestep, T / n)
      : integerTimesteps(spacing, lastTimestep, n + 1, config.steps_offset).slice(0, -1);

  const logSigmas = logF32(trainSigmas);
  const sigmaMin = (rules.configSigmaBounds ? config.sigma_min : null) ?? trainSigmas[0]!;
  const sigmaMax = (rules.configSigmaBounds ? config.sigma_max : null) ?? trainSigmas[T - 1]!;
  const round = !(rules.roundUnlessCosine && config.beta_schedule === "squaredcos_cap_v2");
  let sigmas: ArrayLike<number>;
  let respaced = true;
  if (config.use_karras_sigmas) {
    sigmas = karrasSigmas(sigmaMin, sigmaMax, n);
    timesteps = Array.from(sigmas, (s) => toIndex(sigmaToT(s, logSigmas), round));
  } else if (config.use_lu_lambdas && rules.luLambdas) {
    // diffusers' "lambdas" here are log-sigmas, spaced linearly (rho = 1) between the float32 ends.
    const lambdaMin = logSigmas[0]!;
    const lambdaMax = logSigmas[T - 1]!;
    sigmas = numpyLinspace(0, 1, n).map((r) => Math.exp(lambdaMax + r * (lambdaMin - lambdaMax)));
    timesteps = Array.from(sigmas, (s) => toIndex(sigmaToT(s, logSigmas), round));
  } else if (config.use_exponential_sigmas) {
    sigmas = exponentialSigmas(sigmaMin, sigmaMax, n);
    // diffusers casts these timesteps to int64 without rounding.
    timesteps = Array.from(sigmas, (s) => toIndex(sigmaToT(s, logSigmas), false));
  } else {
    sigmas = Float64Array.from(timesteps, (t) => trainSigmas[t]!);
    respaced = false;
  }

  let sigmaLast = 0;
  if (config.final_sigmas_type === "sigma_min") {
    sigmaLast = respaced && rules.respacedSigmaLast ? sigmas[sigmas.length - 1]! : trainSigmas[0]!;
  }
  const out = new Float32Array(sigmas.length + 1);
  out.set(sigmas);
  out[sigmas.length] = sigmaLast;
  return { timesteps, sigmas: out };
}

/** int64 cast of a fractional timestep: numpy `.round()` first when asked, else truncation. */
function toIndex(t: number, round: boolean): number {
  return round ? roundHalfEven(t) : Math.trunc(t);
}

/**
 * How many of the lowest-noise training timesteps DPM-Solver drops: `searchsorted` of `lambda_min_clipped`
 * in the ascending (flipped) float32 lambda_t, as diffusers computes `clipped_idx`.
 */
function clippedCount(alphasCumprod: Float32Array, lambdaMinClipped: number): number {
  if (lambdaMinClipped === -Infinity) return 0;
  const threshold = f32(lambdaMinClipped);
  const T = alphasCumprod.length;
  for (let k = 0; k < T; k++) {
    if (levelFromAlphaProd(alphasCumprod[T - 1 - k]!).lambda >= threshold) return k;
  }
  return T;
}

/**
 * The state and steps DPM-Solver and UniPC share: the run's schedule, the step position (taken from
 * the first timestep seen, then one per call, as in diffusers), the converted model outputs of the last
 * `solver_order` steps, and `alpha_t x0 + sigma_t noise` forward diffusion. Model inputs are not scaled.
 */
export abstract class MultistepSolver {
  abstract readonly name: string;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly config: ResolvedSchedulerConfig;
  readonly alphasCumprod: Float32Array;
  /** Whether model outputs are converted to x0 (DPM-Solver++, UniPC's predict_x0) or to eps. */
  protected abstract readonly dataPrediction: boolean;
  protected schedule: MultistepSchedule = { timesteps: [], sigmas: new Float32Array(0) };
  protected stepIndex: number | null = null;
  /** Steps taken this run, capped at solver_order: the order the history supports. */
  protected lowerOrderNums = 0;
  /** Converted model outputs of the last `solver_order` steps, oldest first (null until filled). */
  protected modelOutputs: (Float32Array | null)[] = [];
  private readonly rules: ScheduleRules;
  private ready = false;

  protected constructor(
    config: ResolvedSchedulerConfig,
    alphasCumprod: Float32Array,
    rules: ScheduleRules,
  ) {
    this.config = config;
    this.alphasCumprod = alphasCumprod;
    this.rules = rules;
  }

  get timesteps(): readonly number[] {
    return this.schedule.timesteps;
  }

  /** The sigmas of the current run (float32): one per timestep, then the final one. */
  get sigmas(): Float32Array {
    return this.schedule.sigmas;
  }

  setTimesteps(numInferenceSteps: number): void {
    checkSteps(this.name, numInferenceSteps, this.config.num_train_timesteps);
    this.schedule = multistepSchedule(
      this.config,
      this.alphasCumprod,
      numInferenceSteps,
      this.rules,
    );
    this.modelOutputs = new Array<Float32Array | null>(this.config.solver_order).fill(null);
    this.lowerOrderNums = 0;
    this.stepIndex = null;
    this.ready = true;
  }

  scaleModelInput(sample: Tensor, _timestep: number): Tensor {
    return sample;
  }

  /** diffusers' multistep `add_noise`: alpha_t * x0 + sigma_t * noise at `timestep`'s sigma in the run. */
  addNoise(original: Tensor, noise: Tensor, timestep: number): Tensor {
    this.requireRun("addNoise");
    checkSameDims(this.name, "noise", noise, original);
    const index = indexForTimestep(this.schedule.timesteps, timestep, this.name);
    const level = levelFromSigma(this.schedule.sigmas[index]!);
    return tensor(addNoiseAt(level, original.data, noise.data), original.dims);
  }

  protected requireRun(operation: "step" | "addNoise"): void {
    if (!this.ready) throw new SchedulerError(`${this.name}.${operation}: call setTimesteps first`);
  }

  /** The position of this step in the run; a call past the last timestep is a SchedulerError. */
  protected currentIndex(timestep: number): number {
    const timesteps = this.schedule.timesteps;
    this.stepIndex ??= indexForTimestep(timesteps, timestep, this.name);
    if (this.stepIndex >= timesteps.length) {
      throw new SchedulerError(
        `${this.name}.step: called more than the ${timesteps.length} steps of the schedule; call setTimesteps again`,
      );
    }
    return this.stepIndex;
  }

  /**
   * diffusers' `convert_model_output` at step `index`: x0 for data prediction (thresholded when the
   * config asks), else eps.
   */
  protected convertModelOutput(
    modelOutput: Float32Array,
    sample: Tensor,
    index: number,
  ): Float32Array {
    const c = this.config;
    const x = sample.data;
    const sigma = this.schedule.sigmas[index]!;
    const level = levelFromSigma(sigma);
    if (!this.dataPrediction) return predictEpsilon(c.prediction_type, modelOutput, x, level);
    const x0 =
      c.prediction_type === "flow_prediction"
        ? addScaled(x, -sigma, modelOutput) // flow matching: x0 = x - sigma * v
        : predictOriginal(c.prediction_type, modelOutput, x, level, this.name);
    if (!c.thresholding) return x0;
    return thresholdSample(x0, sample.dims, c.dynamic_thresholding_ratio, c.sample_max_value);
  }

  /** Makes `converted` the newest entry of the model-output history. */
  protected remember(converted: Float32Array): void {
    this.modelOutputs.shift();
    this.modelOutputs.push(converted);
  }

  /** Moves past step `index` and wraps its result, with x0 when the solver predicts data. */
  protected finishStep(
    index: number,
    prev: Float32Array,
    converted: Float32Array,
    dims: readonly number[],
  ): StepOutput {
    if (this.lowerOrderNums < this.config.solver_order) this.lowerOrderNums++;
    this.stepIndex = index + 1;
    const result: StepOutput = { prevSample: tensor(prev, dims) };
    if (this.dataPrediction) result.predOriginalSample = tensor(converted.slice(), dims);
    return result;
  }
}
