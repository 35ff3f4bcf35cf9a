import type { Tensor } from "../tensor/index.ts";
import type { ResolvedSchedulerConfig } from "./config.ts";
import { SchedulerError } from "./errors.ts";

/*
 * Shared scheduler math, written to reproduce diffusers' numbers, not only its formulas.
 *
 * diffusers keeps betas, alphas_cumprod and sigmas as float32 torch tensors and does its per-step scalar
 * arithmetic on 0-dim float32 tensors, while timestep/sigma schedules are often built in numpy float64
 * first and cast to float32 at the end. Each helper says which precision it follows. `f32` (= Math.fround)
 * marks every place where torch would round a float32 result; a plain JS expression is float64 like numpy.
 * Storing into a Float32Array rounds too, which the elementwise loops use for their last operation.
 */

/**
 * Rounds a double to the nearest float32. Every scheduler module binds its own `const f32 = Math.fround`
 * rather than importing one: where a loader turns imports into property reads (tsx or esbuild emitting
 * CommonJS, vitest's module transform), per-element calls through an imported binding made step()
 * 5-15x slower on a [2, 4, 64, 64] latent.
 */
const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------------------
// numpy / torch array constructors with their exact rounding behaviour

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` bit for bit: torch (CPU) computes the step in
 * float32, fills the first half forward from `start` and the second half backward from `end`, each
 * value with one fused multiply-add. A float64 linspace cast to float32 differs in the last bit for a
 * third of the values, enough to move diffusers' Euler/LMS/Heun test sums by 0.05.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 0) return out;
  const a = f32(start);
  const b = f32(end);
  if (steps === 1) {
    out[0] = a;
    return out;
  }
  const step = f32(f32(b - a) / (steps - 1));
  const half = Math.floor(steps / 2);
  // step * i is exact in float64 (24-bit mantissa times a small integer), so one f32() equals the FMA.
  for (let i = 0; i < steps; i++) out[i] = i < half ? a + step * i : b - step * (steps - 1 - i);
  return out;
}

/**
 * `torch.cumprod` of a float32 vector on CPU: the running product is kept in float64 and each partial
 * product is rounded to float32 on output (a float32 running product drifts by several ulps over 1000 steps).
 */
export function cumprodF32(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  let acc = 1;
  for (let i = 0; i < values.length; i++) {
    acc *= values[i]!;
    out[i] = acc;
  }
  return out;
}

/** `np.linspace(start, stop, num, endpoint)` in float64: `i * step + start`, the last value set to `stop`. */
export function numpyLinspace(
  start: number,
  stop: number,
  num: number,
  endpoint = true,
): Float64Array {
  const out = new Float64Array(num);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : Number.NaN;
  for (let i = 0; i < num; i++) out[i] = div > 0 ? i * step + start : start;
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/** `np.arange(start, stop, step)` for float steps: length `ceil((stop - start) / step)`, values `start + i*delta`. */
export function numpyArange(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(length);
  const delta = start + step - start;
  for (let i = 0; i < length; i++) out[i] = start + i * delta;
  return out;
}

/** `np.round` / `np.rint`: halves go to the even neighbour (Math.round sends them up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/**
 * `np.interp(x, np.arange(len(fp)), fp)` in float64: linear interpolation on the integer grid, clamped to
 * the end values outside it.
 */
export function interpOnIndexGrid(x: ArrayLike<number>, fp: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  const last = fp.length - 1;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    if (xi <= 0) out[i] = fp[0]!;
    else if (xi >= last) out[i] = fp[last]!;
    else {
      const j = Math.floor(xi);
      if (j === xi) {
        out[i] = fp[j]!;
        continue;
      }
      const slope = fp[j + 1]! - fp[j]!;
      out[i] = slope * (xi - j) + fp[j]!;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// noise schedules

/** The beta schedules a scheduler class may accept (diffusers' classes differ on the list). */
export type BetaSchedule = ResolvedSchedulerConfig["beta_schedule"];

/** diffusers' `betas_for_alpha_bar`: discretised alpha-bar curves, computed in float64, capped at 0.999. */
export function betasForAlphaBar(
  numTimesteps: number,
  transform: "cosine" | "exp" | "laplace" = "cosine",
  maxBeta = 0.999,
): Float32Array {
  const alphaBar = (t: number): number => {
    if (transform === "cosine") {
      const c = Math.cos((((t + 0.008) / 1.008) * Math.PI) / 2);
      return c * c;
    }
    if (transform === "exp") return Math.exp(t * -12.0);
    const lmb = -0.5 * Math.sign(0.5 - t || 1) * Math.log(1 - 2 * Math.abs(0.5 - t) + 1e-6);
    const snr = Math.exp(lmb);
    return Math.sqrt(snr / (1 + snr));
  };
  const out = new Float32Array(numTimesteps);
  for (let i = 0; i < numTimesteps; i++) {
    const t1 = i / numTimesteps;
    const t2 = (i + 1) / numTimesteps;
    out[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return out;
}

/**
 * The betas of a config: `trained_betas` when given, else the named schedule, then zero-terminal-SNR
 * rescaling when `rescale_betas_zero_snr` is set and the class supports it. `owner` names the class in
 * errors; `allowed` is the class's list of schedules.
 */
export function makeBetas(
  config: ResolvedSchedulerConfig,
  owner: string,
  allowed: readonly BetaSchedule[] = ["linear", "scaled_linear", "squaredcos_cap_v2"],
): Float32Array {
  let betas: Float32Array;
  const n = config.num_train_timesteps;
  if (config.trained_betas !== null) {
    if (config.trained_betas.length !== n) {
      throw new SchedulerError(
        `${owner}: trained_betas must have num_train_timesteps (${n}) values, got ${config.trained_betas.length}`,
        { param: "trained_betas" },
      );
    }
    betas = Float32Array.from(config.trained_betas);
  } else {
    const schedule = config.beta_schedule;
    if (!allowed.includes(schedule)) {
      throw new SchedulerError(
        `${owner}: beta_schedule must be one of ${allowed.join(", ")}, got "${schedule}"`,
        { param: "beta_schedule" },
      );
    }
    if (schedule === "linear") {
      betas = torchLinspaceF32(config.beta_start, config.beta_end, n);
    } else if (schedule === "scaled_linear") {
      betas = torchLinspaceF32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), n);
      for (let i = 0; i < n; i++) betas[i] = betas[i]! * betas[i]!;
    } else if (schedule === "sigmoid") {
      // torch: sigmoid(linspace(-6, 6)) * (end - start) + start, scalars rounded to float32.
      betas = torchLinspaceF32(-6, 6, n);
      const range = f32(config.beta_end - config.beta_start);
      const start = f32(config.beta_start);
      for (let i = 0; i < n; i++)
        betas[i] = f32(f32(1 / (1 + Math.exp(-betas[i]!))) * range) + start;
    } else {
      const transform =
        schedule === "squaredcos_cap_v2" ? "cosine" : schedule === "exp" ? "exp" : "laplace";
      betas = betasForAlphaBar(n, transform);
    }
  }
  return config.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas;
}

/**
 * diffusers' `rescale_zero_terminal_snr` (Lin et al. 2023, Algorithm 1) in float32: shifts and scales
 * sqrt(alphas_cumprod) so the last timestep has zero signal, then converts back to betas.
 */
export function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const n = betas.length;
  const cumprod = cumprodF32(betas.map((b) => 1 - b));
  const sqrtBar = cumprod.map((a) => Math.sqrt(a));
  const first = sqrtBar[0]!;
  const last = sqrtBar[n - 1]!;
  const scale = f32(first / f32(first - last));
  for (let i = 0; i < n; i++) sqrtBar[i] = f32(sqrtBar[i]! - last) * scale;
  const bar = sqrtBar.map((s) => s * s);
  const out = new Float32Array(n);
  out[0] = 1 - bar[0]!;
  for (let i = 1; i < n; i++) out[i] = 1 - f32(bar[i]! / bar[i - 1]!);
  return out;
}

/** `1 - betas` and their cumulative product, both float32 like diffusers' tensors. */
export function alphasCumprodOf(betas: Float32Array): Float32Array {
  return cumprodF32(betas.map((b) => 1 - b));
}

/**
 * alphas_cumprod for the schedulers that divide by it (sigma = sqrt((1 - a) / a)): after a zero-terminal-SNR
 * rescale the last value is 0 and the first sigma infinite, so diffusers (Euler, Euler Ancestral,
 * DPM-Solver, UniPC) sets it to 2^-24, fp16's smallest subnormal.
 */
export function sigmaSafeAlphasCumprod(
  config: ResolvedSchedulerConfig,
  owner: string,
): Float32Array {
  const alphasCumprod = alphasCumprodOf(makeBetas(config, owner));
  if (config.rescale_betas_zero_snr) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
  return alphasCumprod;
}

/**
 * `alphas_cumprod[t]` with a range check: diffusers would index past the end with an IndexError (or wrap
 * around for -1); here a timestep outside the training range is a SchedulerError.
 */
export function alphaAt(alphasCumprod: Float32Array, t: number, owner: string): number {
  const v = alphasCumprod[t];
  if (v === undefined || !Number.isInteger(t)) {
    throw new SchedulerError(
      `${owner}: timestep must be an integer in [0, ${alphasCumprod.length - 1}], got ${t}`,
      { param: "timestep" },
    );
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// timestep spacing

/** How the inference timesteps are spread over the training range (diffusers' `timestep_spacing`). */
export type TimestepSpacing = ResolvedSchedulerConfig["timestep_spacing"];

/**
 * Descending integer timesteps as DDIM/DDPM/PNDM-style schedulers build them (int64 in diffusers):
 * - `linspace`: `round(linspace(0, T-1, n))`
 * - `leading`: `arange(n) * (T // n) + steps_offset`
 * - `trailing`: `round(arange(T, 0, -T/n)) - 1`
 */
export function integerTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset: number,
): number[] {
  const out = spacedTimesteps(spacing, numTrainTimesteps, numInferenceSteps, stepsOffset);
  return spacing === "linspace" ? out.map(roundHalfEven) : out;
}

/**
 * Descending float32 timesteps as the k-diffusion schedulers (Euler, Euler Ancestral, LMS, Heun) build
 * them: the same spacings as `integerTimesteps`, except that `linspace` is not rounded.
 */
export function floatTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset: number,
): number[] {
  return spacedTimesteps(spacing, numTrainTimesteps, numInferenceSteps, stepsOffset).map(f32);
}

function spacedTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  n: number,
  stepsOffset: number,
): number[] {
  if (spacing === "linspace") {
    return Array.from(numpyLinspace(0, numTrainTimesteps - 1, n)).reverse();
  }
  if (spacing === "leading") {
    const ratio = Math.floor(numTrainTimesteps / n);
    return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
  }
  return trailingTimesteps(numTrainTimesteps, numTrainTimesteps / n);
}

/** `round(arange(start, 0, -stride)) - 1`: diffusers' `trailing` spacing, descending. */
export function trailingTimesteps(start: number, stride: number): number[] {
  return Array.from(numpyArange(start, 0, -stride), (t) => roundHalfEven(t) - 1);
}

/** Validates `numInferenceSteps` the way every `setTimesteps` needs: an integer in [1, limit]. */
export function checkSteps(owner: string, numInferenceSteps: number, limit: number): void {
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > limit) {
    throw new SchedulerError(
      `${owner}.setTimesteps: steps must be an integer in [1, ${limit}], got ${numInferenceSteps}`,
      { param: "numInferenceSteps" },
    );
  }
}

/** Checks a custom timestep list the way diffusers does: strictly descending, starting below T. */
export function checkCustomTimesteps(
  owner: string,
  timesteps: readonly number[],
  numTrainTimesteps: number,
): number[] {
  if (timesteps.length === 0) {
    throw new SchedulerError(`${owner}.setCustomTimesteps: timesteps must not be empty`, {
      param: "timesteps",
    });
  }
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= numTrainTimesteps) {
      throw new SchedulerError(
        `${owner}.setCustomTimesteps: timesteps must be integers in [0, ${numTrainTimesteps - 1}], got ${t}`,
        { param: "timesteps" },
      );
    }
    if (i > 0 && t >= timesteps[i - 1]!) {
      throw new SchedulerError(
        `${owner}.setCustomTimesteps: timesteps must be in descending order`,
        {
          param: "timesteps",
        },
      );
    }
  }
  return [...timesteps];
}

/**
 * diffusers' `index_for_timestep`: the position of `timestep` in the schedule, the SECOND match when it
 * appears twice (Heun's repeated timesteps: a run that starts mid-schedule enters at the 2nd-order step
 * of the previous pair, as diffusers does for img2img).
 */
export function indexForTimestep(
  timesteps: readonly number[],
  timestep: number,
  owner: string,
): number {
  const first = timesteps.indexOf(timestep);
  if (first < 0) {
    throw new SchedulerError(`${owner}: timestep ${timestep} is not in the current schedule`, {
      param: "timestep",
    });
  }
  const second = timesteps.indexOf(timestep, first + 1);
  return second >= 0 ? second : first;
}

// ---------------------------------------------------------------------------------------------------------
// sigmas (k-diffusion parameterisation)

/** `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5` in float32, ascending with t. */
export function sigmasFromAlphasCumprod(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => Math.sqrt(f32(f32(1 - a) / a)));
}

/**
 * `np.log` of a float32 array (float32 result). numpy's SIMD float32 log differs from the correctly
 * rounded value in the last bit for a few percent of inputs; this returns the correctly rounded one.
 */
export function logF32(values: Float32Array): Float32Array {
  return values.map((v) => Math.log(v));
}

/**
 * Karras et al. (2022) sigmas: `rho`-th-root spacing between `sigmaMax` and `sigmaMin`, float64 as diffusers'
 * `_convert_to_karras` computes them in numpy.
 */
export function karrasSigmas(
  sigmaMin: number,
  sigmaMax: number,
  n: number,
  rho = 7.0,
): Float64Array {
  const ramp = numpyLinspace(0, 1, n);
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return ramp.map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/** Log-uniform sigmas from `sigmaMax` down to `sigmaMin` (diffusers' `_convert_to_exponential`), float64. */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  return numpyLinspace(Math.log(sigmaMax), Math.log(sigmaMin), n).map(Math.exp);
}

/**
 * diffusers' `_sigma_to_t`: the fractional training timestep whose sigma is `sigma`, by linear
 * interpolation in log-sigma between the two bracketing training sigmas (`logSigmas` ascending, float32).
 * The bracket width is a float32 difference, as numpy computes it on the float32 array.
 */
export function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i]! >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  const w = Math.min(1, Math.max(0, (lo - logSigma) / f32(lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

/** The k-diffusion input scale `(sigma**2 + 1) ** 0.5`, computed on a 0-dim float32 tensor as diffusers does. */
export function inputScale(sigma: number): number {
  return f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
}

/** Which sigma spacing a k-diffusion scheduler uses after the interpolated one (config flags). */
export type SigmaSpacing = "interpolated" | "karras" | "exponential";

/** The sigma spacing a config asks for; more than one flag, or beta sigmas, is a SchedulerError. */
export function sigmaSpacingOf(config: ResolvedSchedulerConfig, owner: string): SigmaSpacing {
  if (config.use_beta_sigmas) {
    throw new SchedulerError(`${owner}: use_beta_sigmas is not supported`, {
      param: "use_beta_sigmas",
    });
  }
  if (config.use_karras_sigmas && config.use_exponential_sigmas) {
    throw new SchedulerError(
      `${owner}: only one of use_karras_sigmas and use_exponential_sigmas can be set`,
      { param: "use_karras_sigmas" },
    );
  }
  if (config.use_karras_sigmas) return "karras";
  return config.use_exponential_sigmas ? "exponential" : "interpolated";
}

// ---------------------------------------------------------------------------------------------------------
// noise levels: x_t = alpha_t * x0 + sigma_t * eps

/** alpha_t, sigma_t and the log-SNR lambda_t = log(alpha_t) - log(sigma_t) of one noise level, float32. */
export interface NoiseLevel {
  alpha: number;
  sigma: number;
  lambda: number;
}

/** The noise level of a DDPM-family timestep with cumulative alpha `alphaProd`: sqrt(a), sqrt(1 - a). */
export function levelFromAlphaProd(alphaProd: number): NoiseLevel {
  return withLambda(f32(Math.sqrt(alphaProd)), f32(Math.sqrt(f32(1 - alphaProd))));
}

/**
 * diffusers' `_sigma_to_alpha_sigma_t` for a k-diffusion sigma: alpha = 1 / sqrt(sigma² + 1),
 * sigma_t = sigma * alpha. A zero sigma gives lambda = +Infinity.
 */
export function levelFromSigma(sigma: number): NoiseLevel {
  const alpha = f32(1 / inputScale(sigma));
  return withLambda(alpha, f32(sigma * alpha));
}

function withLambda(alpha: number, sigma: number): NoiseLevel {
  return { alpha, sigma, lambda: f32(f32(Math.log(alpha)) - f32(Math.log(sigma))) };
}

/**
 * diffusers' forward diffusion `add_noise` at a noise level: alpha_t * x0 + sigma_t * noise in float32
 * (DDPM-family schedulers at `levelFromAlphaProd`, the multistep solvers at `levelFromSigma`).
 */
export function addNoiseAt(
  level: NoiseLevel,
  original: Float32Array,
  noise: Float32Array,
): Float32Array {
  return weightedSum(level.alpha, original, level.sigma, noise);
}

// ---------------------------------------------------------------------------------------------------------
// model-output conversions (elementwise float32)

/** The prediction targets diffusers' schedulers accept. */
export type PredictionType = ResolvedSchedulerConfig["prediction_type"];

/**
 * x0 from a model output at noise level (alpha_t, sigma_t): `epsilon`: (x - sigma_t * eps) / alpha_t;
 * `v_prediction`: alpha_t * x - sigma_t * v; `sample`: the output itself. Other types are a SchedulerError.
 */
export function predictOriginal(
  predictionType: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  level: NoiseLevel,
  owner: string,
): Float32Array {
  const { alpha, sigma } = level;
  const out = new Float32Array(sample.length);
  if (predictionType === "epsilon") {
    for (let i = 0; i < out.length; i++)
      out[i] = f32(sample[i]! - f32(sigma * modelOutput[i]!)) / alpha;
  } else if (predictionType === "v_prediction") {
    for (let i = 0; i < out.length; i++)
      out[i] = f32(alpha * sample[i]!) - f32(sigma * modelOutput[i]!);
  } else if (predictionType === "sample") {
    out.set(modelOutput);
  } else {
    throw unsupportedPrediction(owner, predictionType, ["epsilon", "v_prediction", "sample"]);
  }
  return out;
}

/**
 * The noise eps from a model output at noise level (alpha_t, sigma_t): `epsilon`: the output itself;
 * `sample`: (x - alpha_t * x0) / sigma_t; `v_prediction`: alpha_t * v + sigma_t * x. The caller has
 * checked the type (anything else reads as `v_prediction`).
 */
export function predictEpsilon(
  predictionType: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  level: NoiseLevel,
): Float32Array {
  const { alpha, sigma } = level;
  if (predictionType === "epsilon") return modelOutput.slice();
  if (predictionType !== "sample") return weightedSum(alpha, modelOutput, sigma, sample);
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++)
    out[i] = f32(sample[i]! - f32(alpha * modelOutput[i]!)) / sigma;
  return out;
}

/**
 * x0 from a k-diffusion model output at noise level `sigma` (float32):
 * `epsilon`: x - sigma * eps; `v_prediction`: v * (-sigma / sqrt(sigma²+1)) + x / (sigma²+1); `sample`: the output.
 */
export function predictOriginalFromSigma(
  predictionType: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  sigma: number,
  owner: string,
  allowed: readonly PredictionType[] = ["epsilon", "v_prediction", "sample"],
): Float32Array {
  if (!allowed.includes(predictionType))
    throw unsupportedPrediction(owner, predictionType, allowed);
  if (predictionType === "epsilon") return addScaled(sample, -sigma, modelOutput);
  if (predictionType === "sample") return modelOutput.slice();
  const sigmaSq1 = f32(f32(sigma * sigma) + 1);
  const outCoeff = f32(-sigma / f32(Math.sqrt(sigmaSq1)));
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = f32(modelOutput[i]! * outCoeff) + f32(sample[i]! / sigmaSq1);
  }
  return out;
}

/** The SchedulerError for a prediction_type a class does not implement. */
export function unsupportedPrediction(
  owner: string,
  predictionType: string,
  allowed: readonly string[],
): SchedulerError {
  return new SchedulerError(
    `${owner}: prediction_type must be one of ${allowed.join(", ")}, got "${predictionType}"`,
    { param: "prediction_type" },
  );
}

// ---------------------------------------------------------------------------------------------------------
// elementwise float32 helpers

/** Clamps every element to [-range, range] in place and returns the array. */
export function clampInPlace(values: Float32Array, range: number): Float32Array {
  const lo = f32(-range);
  const hi = f32(range);
  for (let i = 0; i < values.length; i++) values[i] = Math.min(Math.max(values[i]!, lo), hi);
  return values;
}

/**
 * Dynamic thresholding (Imagen, Saharia et al. 2022) as diffusers' `_threshold_sample`: per batch item,
 * s = quantile(|x0|, ratio) clamped to [1, maxValue]; x0 is clamped to [-s, s] and divided by s.
 * `dims[0]` is the batch; the quantile follows torch.quantile's linear interpolation in float32.
 */
export function thresholdSample(
  values: Float32Array,
  dims: readonly number[],
  ratio: number,
  maxValue: number,
): Float32Array {
  const batch = dims[0] ?? 1;
  const per = values.length / batch;
  const out = new Float32Array(values.length);
  const rank = f32(f32(ratio) * (per - 1));
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const weight = f32(rank - below);
  for (let b = 0; b < batch; b++) {
    const row = values.subarray(b * per, (b + 1) * per);
    const sorted = row.map(Math.abs).sort();
    const lo = sorted[below]!;
    const hi = sorted[above]!;
    const q =
      weight < 0.5
        ? f32(lo + f32(weight * f32(hi - lo)))
        : f32(hi - f32(f32(hi - lo) * f32(1 - weight)));
    const s = Math.min(Math.max(q, 1), f32(maxValue));
    for (let i = 0; i < per; i++) out[b * per + i] = Math.min(Math.max(row[i]!, -s), s) / s;
  }
  return out;
}

/** `a * x + b * y` elementwise in float32, each product rounded as torch's tensor ops round it. */
export function weightedSum(a: number, x: Float32Array, b: number, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(a * x[i]!) + f32(b * y[i]!);
  return out;
}

/**
 * `x + scale * y` elementwise in float32 into `out` (a new array unless given; it may be `x` itself).
 * `scale = -s` gives `x - s * y` bit for bit: IEEE negation is exact.
 */
export function addScaled(
  x: Float32Array,
  scale: number,
  y: Float32Array,
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = x[i]! + f32(scale * y[i]!);
  return out;
}

/** Throws unless two tensors have the same dims (model output vs sample, noise vs sample). */
export function checkSameDims(owner: string, what: string, a: Tensor, b: Tensor): void {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) {
    throw new SchedulerError(
      `${owner}: ${what} dims [${a.dims}] must equal sample dims [${b.dims}]`,
    );
  }
}
