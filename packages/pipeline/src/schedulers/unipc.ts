import type { Tensor } from "../tensor/index.ts";
import { checkSameDims, levelFromSigma, sigmaSafeAlphasCumprod } from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SchedulerError } from "./errors.ts";
import {
  checkMultistepConfig,
  checkMultistepPrediction,
  MultistepSolver,
  type ScheduleRules,
} from "./multistep.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "UniPCMultistepScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/** UniPCMultistepScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const UNIPC_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  timestep_spacing: "linspace",
  solver_order: 2,
  solver_type: "bh2",
  predict_x0: true,
  lower_order_final: true,
  disable_corrector: [],
  final_sigmas_type: "zero",
};

const RULES: ScheduleRules = {
  lambdaClipping: false,
  luLambdas: false,
  roundUnlessCosine: false,
  configSigmaBounds: true,
  respacedSigmaLast: true,
};

/**
 * UniPC (Zhao et al. 2023), a unified predictor-corrector multistep solver, as diffusers'
 * `UniPCMultistepScheduler`: UniP predictor and UniC corrector of orders 1-3, `bh1`/`bh2` B(h), data
 * (`predict_x0`, default) or noise prediction, `disable_corrector`, `lower_order_final`,
 * `final_sigmas_type`, Karras / exponential sigmas, dynamic thresholding, epsilon / v_prediction /
 * sample outputs. Arithmetic follows diffusers' float32 tensors operation by operation (the small
 * linear solves for the order-3 coefficients use LU with partial pivoting, as LAPACK does).
 *
 * Where diffusers' final step returns NaN or infinities, this port takes the limit instead:
 * - with `final_sigmas_type: "zero"` the last step is first order (as DPM-Solver's is), because higher
 *   orders divide by rk = 0 there; and its bh1 B(h) = -inf times a zero residual is taken as zero;
 * - with `predict_x0: false` and a zero final sigma, sigma_t * (e^h - 1) is replaced by its limit
 *   alpha_t * sigma_s / alpha_s;
 * - a step between two equal sigmas (h = 0) returns `(sigma_t/sigma_s) * x`.
 *
 * @example
 * const s = new UniPCMultistepScheduler({ ...sdSchedulerConfig, solver_order: 2 });
 * s.setTimesteps(20);
 * for (const t of s.timesteps) x = s.step(unet(x, t), t, x).prevSample;
 */
export class UniPCMultistepScheduler extends MultistepSolver implements Scheduler {
  readonly name = NAME;
  protected readonly dataPrediction: boolean;
  private readonly bh1: boolean;
  /** The order of the last predictor step; the next step's corrector uses it. */
  private thisOrder = 1;
  /** The sample the last predictor step started from (owned copy), for the next corrector. */
  private lastSample: Float32Array | null = null;
  /** Scratch for the residual sum, reused across steps to keep step() free of per-step temporaries. */
  private scratch = new Float32Array(0);

  constructor(config: SchedulerConfig = {}) {
    const c = resolveSchedulerConfig(config, UNIPC_DEFAULTS);
    // diffusers maps DPM-Solver's solver types onto bh2 in its config.
    const bh1 = c.solver_type === "bh1";
    const resolved: ResolvedSchedulerConfig = { ...c, solver_type: bh1 ? "bh1" : "bh2" };
    checkMultistepConfig(resolved, NAME);
    checkMultistepPrediction(c.prediction_type, c.predict_x0, NAME);
    super(resolved, sigmaSafeAlphasCumprod(resolved, NAME), RULES);
    this.dataPrediction = c.predict_x0;
    this.bh1 = bh1;
  }

  override setTimesteps(numInferenceSteps: number): void {
    super.setTimesteps(numInferenceSteps);
    this.thisOrder = 1;
    this.lastSample = null;
  }

  /**
   * Corrects `sample` with this step's model output (UniC, unless disabled for the previous step), then
   * predicts the next sample (UniP). The step position is taken from `timestep` on the first call after
   * `setTimesteps` and then advances by one per call, as in diffusers.
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    _options: StepOptions = {},
  ): StepOutput {
    this.requireRun("step");
    checkSameDims(NAME, "model output", modelOutput, sample);
    const c = this.config;
    const { timesteps, sigmas } = this.schedule;
    const index = this.currentIndex(timestep);
    const useCorrector =
      index > 0 && !c.disable_corrector.includes(index - 1) && this.lastSample !== null;
    const converted = this.convertModelOutput(modelOutput.data, sample, index);

    let x: Float32Array;
    if (useCorrector) {
      x = this.correct(converted, this.lastSample!);
    } else {
      // Kept until the next step's corrector; a copy so the caller may reuse its buffer.
      x =
        this.lastSample !== null && this.lastSample.length === sample.data.length
          ? this.lastSample
          : new Float32Array(sample.data.length);
      x.set(sample.data);
    }
    this.remember(converted);

    let order = c.lower_order_final
      ? Math.min(c.solver_order, timesteps.length - index)
      : c.solver_order;
    order = Math.min(order, this.lowerOrderNums + 1);
    // diffusers' higher orders divide by rk = 0 when the next sigma is zero (NaN); take order 1 there.
    if (sigmas[index + 1] === 0) order = 1;
    this.thisOrder = order;
    const prev = this.predict(x, order);
    this.lastSample = x;
    return this.finishStep(index, prev, converted, sample.dims);
  }

  /** UniP: the order-`order` prediction from sigmas[i] to sigmas[i+1] (diffusers' `multistep_uni_p_bh_update`). */
  private predict(x: Float32Array, order: number): Float32Array {
    const i = this.stepIndex!;
    const outputs = this.modelOutputs;
    const m0 = outputs[outputs.length - 1]!;
    const k = this.coefficients(i + 1, i, order, (j) => i - j);
    const n = x.length;
    const out = new Float32Array(n);
    if (k.h === 0) {
      for (let j = 0; j < n; j++) out[j] = f32(k.A * x[j]!);
      return out;
    }
    // order 2 uses rho = 0.5 (diffusers' choice); order 3 solves the 2x2 system R[:-1,:-1] rho = b[:-1].
    const rhos =
      order === 2
        ? [0.5]
        : order >= 3
          ? solveF32(square(k.R, order - 1), k.b.slice(0, order - 1))
          : [];
    const { A, M, Bh } = k;
    const diffs = this.differences(m0, k.rks, order - 1);
    if (diffs.length === 0) {
      // diffusers subtracts (alpha_t * B_h) * 0 here; skipping it also avoids bh1's -inf * 0 at a zero sigma.
      for (let j = 0; j < n; j++) out[j] = f32(A * x[j]!) - f32(M * m0[j]!);
      return out;
    }
    const res = this.residual(rhos, diffs, m0);
    for (let j = 0; j < n; j++) {
      out[j] = f32(f32(f32(A * x[j]!) - f32(M * m0[j]!)) - f32(Bh * res[j]!));
    }
    return out;
  }

  /** UniC: corrects this step's sample with its model output (diffusers' `multistep_uni_c_bh_update`). */
  private correct(modelT: Float32Array, last: Float32Array): Float32Array {
    const i = this.stepIndex!;
    const order = this.thisOrder;
    const outputs = this.modelOutputs;
    const m0 = outputs[outputs.length - 1]!;
    const k = this.coefficients(i, i - 1, order, (j) => i - (j + 1));
    const n = last.length;
    const out = new Float32Array(n);
    if (k.h === 0) {
      for (let j = 0; j < n; j++) out[j] = f32(k.A * last[j]!);
      return out;
    }
    const rhos = order === 1 ? [0.5] : solveF32(square(k.R, order), k.b.slice(0, order));
    const rhoT = rhos[rhos.length - 1]!;
    const { A, M, Bh } = k;
    const diffs = this.differences(m0, k.rks, order - 1);
    if (diffs.length === 0) {
      for (let j = 0; j < n; j++) {
        const inner = f32(rhoT * f32(modelT[j]! - m0[j]!));
        out[j] = f32(f32(f32(A * last[j]!) - f32(M * m0[j]!)) - f32(Bh * inner));
      }
      return out;
    }
    const res = this.residual(rhos, diffs, m0);
    for (let j = 0; j < n; j++) {
      const inner = f32(res[j]! + f32(rhoT * f32(modelT[j]! - m0[j]!)));
      out[j] = f32(f32(f32(A * last[j]!) - f32(M * m0[j]!)) - f32(Bh * inner));
    }
    return out;
  }

  /**
   * sum_k rho_k * D1_k with D1_k = (m_k - m0) / rk, in float32 like diffusers' einsum over the stacked
   * D1s, into a scratch buffer reused across steps (the caller consumes it before the next call).
   */
  private residual(
    rhos: readonly number[],
    diffs: readonly { m: Float32Array; rk: number }[],
    m0: Float32Array,
  ): Float32Array {
    const n = m0.length;
    if (this.scratch.length !== n) this.scratch = new Float32Array(n);
    const acc = this.scratch;
    for (let k = 0; k < diffs.length; k++) {
      const { m, rk } = diffs[k]!;
      const rho = rhos[k]!;
      // Storing into the Float32Array rounds each partial sum to float32, as torch's float32 sum does.
      if (k === 0) for (let j = 0; j < n; j++) acc[j] = rho * f32(f32(m[j]! - m0[j]!) / rk);
      else for (let j = 0; j < n; j++) acc[j] = acc[j]! + f32(rho * f32(f32(m[j]! - m0[j]!) / rk));
    }
    return acc;
  }

  /** The older model outputs paired with their rk: D1_k = (m_k - m0) / rk is formed per element. */
  private differences(
    m0: Float32Array,
    rks: readonly number[],
    count: number,
  ): { m: Float32Array; rk: number }[] {
    const outputs = this.modelOutputs;
    const out: { m: Float32Array; rk: number }[] = [];
    for (let k = 1; k <= count; k++) {
      const m = outputs[outputs.length - 1 - k];
      if (m === null || m === undefined || m.length !== m0.length) {
        throw new SchedulerError(
          `${NAME}.step: model output history is shorter than order ${count + 1}`,
        );
      }
      out.push({ m, rk: rks[k - 1]! });
    }
    return out;
  }

  /**
   * The scalars of an update from sigmas[from] to sigmas[to] of order `order`, whose k-th older output sits
   * at sigmas[olderIndex(k)]: x_t = A*x - M*m0 - Bh*(residual), plus the rks, R and b of the rho systems.
   */
  private coefficients(
    to: number,
    from: number,
    order: number,
    olderIndex: (k: number) => number,
  ): { A: number; M: number; Bh: number; h: number; rks: number[]; R: number[][]; b: number[] } {
    const sigmas = this.schedule.sigmas;
    const t = levelFromSigma(sigmas[to]!);
    const s0 = levelFromSigma(sigmas[from]!);
    const h = f32(t.lambda - s0.lambda);
    const predictX0 = this.config.predict_x0;
    const rks: number[] = [];
    for (let k = 1; k < order; k++) {
      const si = levelFromSigma(sigmas[olderIndex(k)]!);
      rks.push(f32(f32(si.lambda - s0.lambda) / h));
    }
    rks.push(1);
    const hh = predictX0 ? -h : h;
    const hPhi1 = f32(Math.expm1(hh));
    const B = this.bh1 ? hh : f32(Math.expm1(hh));
    const R: number[][] = [];
    const b: number[] = [];
    let hPhiK = f32(f32(hPhi1 / hh) - 1);
    let factorial = 1;
    for (let p = 1; p <= order; p++) {
      R.push(rks.map((r) => (p === 1 ? 1 : p === 2 ? r : f32(r * r))));
      b.push(f32(f32(hPhiK * factorial) / B));
      factorial *= p + 1;
      hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial));
    }
    if (predictX0) {
      return {
        A: f32(t.sigma / s0.sigma),
        M: f32(t.alpha * hPhi1),
        Bh: f32(t.alpha * B),
        h,
        rks,
        R,
        b,
      };
    }
    const A = f32(t.alpha / s0.alpha);
    if (t.sigma === 0) {
      // sigma_t * (e^h - 1) -> alpha_t * sigma_s / alpha_s as sigma_t -> 0 (diffusers computes 0 * inf = NaN).
      const M = f32(f32(t.alpha * s0.sigma) / s0.alpha);
      return { A, M, Bh: this.bh1 ? 0 : M, h, rks, R, b };
    }
    return { A, M: f32(t.sigma * hPhi1), Bh: f32(t.sigma * B), h, rks, R, b };
  }
}

/** The leading `size` x `size` block of a matrix. */
function square(matrix: readonly number[][], size: number): number[][] {
  return matrix.slice(0, size).map((row) => row.slice(0, size));
}

/**
 * Solves a small dense system in float32 by LU with partial pivoting (LAPACK's sgesv: the column below
 * the pivot is scaled by the pivot's reciprocal, then forward and back substitution).
 */
export function solveF32(matrix: readonly number[][], rhs: readonly number[]): number[] {
  const n = rhs.length;
  const a = matrix.map((row) => row.map(f32));
  const x = rhs.map(f32);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++)
      if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    if (a[pivot]![col] === 0) {
      throw new SchedulerError(`${NAME}: singular ${n}x${n} system for the UniPC coefficients`);
    }
    if (pivot !== col) {
      [a[pivot], a[col]] = [a[col]!, a[pivot]!];
      [x[pivot], x[col]] = [x[col]!, x[pivot]!];
    }
    const inv = f32(1 / a[col]![col]!);
    for (let r = col + 1; r < n; r++) {
      const l = f32(a[r]![col]! * inv);
      for (let k = col + 1; k < n; k++) a[r]![k] = f32(a[r]![k]! - f32(l * a[col]![k]!));
      x[r] = f32(x[r]! - f32(l * x[col]!));
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let v = x[r]!;
    for (let k = r + 1; k < n; k++) v = f32(v - f32(a[r]![k]! * x[k]!));
    x[r] = f32(v / a[r]![r]!);
  }
  return x;
}
