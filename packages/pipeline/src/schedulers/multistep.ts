import type { Tensor } from "../tensor/index.ts";
import {
  checkSameDims,
  exponentialSigmas,
  indexForTimestep,
  karrasSigmas,
  logF32,
  numpyArange,
  numpyLinspace,
  roundHalfEven,
  sigmasFromAlphasCumprod,
  sigmaToT,
} from "./common.ts";
import type { ResolvedSchedulerConfig } from "./config.ts";
import { SchedulerError } from "./errors.ts";

/*
 * What DPMSolverMultistepScheduler and UniPCMultistepScheduler share in diffusers (UniPC's methods are
 * "Copied from" DPM-Solver's): the timestep/sigma schedule, the float32 alpha/sigma/lambda of a sigma
 * and forward diffusion. Scalars follow diffusers' 0-dim float32 tensors,
 * hence an `f32` after every operation; schedules are float64 (numpy) until their final cast.
 */

/** Math.fround bound locally: hot loops calling an imported binding ran 50x slower under tsx. */
const f32 = Math.fround;

/** alpha_t, sigma_t and lambda_t = log(alpha_t) - log(sigma_t) of a k-diffusion sigma, in float32. */
export interface NoiseLevel {
  alpha: number;
  sigma: number;
  lambda: number;
}

/**
 * diffusers' `_sigma_to_alpha_sigma_t` plus the log-SNR the solvers take of it:
 * alpha = 1 / sqrt(sigma² + 1), sigma_t = sigma * alpha. A zero sigma gives lambda = +Infinity.
 */
export function noiseLevel(sigma: number): NoiseLevel {
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const sigmaT = f32(sigma * alpha);
  return { alpha, sigma: sigmaT, lambda: f32(f32(Math.log(alpha)) - f32(Math.log(sigmaT))) };
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
  if (config.use_karras_sigmas && config.use_exponential_sigmas) {
    throw new SchedulerError(
      `${owner}: only one of use_karras_sigmas and use_exponential_sigmas can be set`,
      { param: "use_karras_sigmas" },
    );
  }
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

  let timesteps: number[];
  if (config.timestep_spacing === "linspace") {
    const points = numpyLinspace(0, lastTimestep - 1, n + 1);
    timesteps = Array.from(points, roundHalfEven).reverse().slice(0, -1);
  } else if (config.timestep_spacing === "leading") {
    const ratio = Math.floor(lastTimestep / (n + 1));
    timesteps = Array.from({ length: n }, (_, i) => (n - i) * ratio + config.steps_offset);
  } else {
    timesteps = Array.from(numpyArange(lastTimestep, 0, -T / n), (t) => roundHalfEven(t) - 1);
  }

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
  let count = 0;
  for (let k = 0; k < T; k++) {
    const a = alphasCumprod[T - 1 - k]!;
    const lambda = f32(
      f32(Math.log(f32(Math.sqrt(a)))) - f32(Math.log(f32(Math.sqrt(f32(1 - a))))),
    );
    if (lambda >= threshold) break;
    count++;
  }
  return count;
}

/**
 * diffusers' multistep `add_noise`: alpha_t * x0 + sigma_t * noise at the sigma of `timestep`'s position in
 * the current schedule (float32).
 */
export function addNoiseAtSigma(
  original: Tensor,
  noise: Tensor,
  timestep: number,
  schedule: MultistepSchedule,
  owner: string,
): Tensor {
  checkSameDims(owner, "noise", noise, original);
  const index = indexForTimestep(schedule.timesteps, timestep, owner);
  const { alpha, sigma } = noiseLevel(schedule.sigmas[index]!);
  const x = original.data;
  const e = noise.data;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32(alpha * x[i]!) + f32(sigma * e[i]!);
  return { data: out, dims: [...original.dims] };
}

/**
 * The first `channels` channels of an NCHW model output: diffusers keeps `model_output[:, :3]` when the
 * model also predicts its variance (`variance_type: "learned" | "learned_range"`).
 */
export function leadingChannels(output: Tensor, channels: number, owner: string): Tensor {
  const [batch, total] = output.dims;
  if (batch === undefined || total === undefined || total < channels) {
    throw new SchedulerError(
      `${owner}: a learned-variance model output needs at least ${channels} channels, got dims [${output.dims}]`,
    );
  }
  if (total === channels) return output;
  const plane = output.data.length / (batch * total);
  const out = new Float32Array(batch * channels * plane);
  for (let b = 0; b < batch; b++) {
    out.set(
      output.data.subarray(b * total * plane, (b * total + channels) * plane),
      b * channels * plane,
    );
  }
  return { data: out, dims: [batch, channels, ...output.dims.slice(2)] };
}
