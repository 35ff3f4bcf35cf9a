import type { Tensor } from "../tensor/index.ts";
import { alphasCumprodOf, makeBetas, sigmaSpacingOf } from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SigmaScheduler, toDerivative } from "./sigma-scheduler.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "LMSDiscreteScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/** LMSDiscreteScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const LMS_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  timestep_spacing: "linspace",
};

/** Linear multistep order diffusers' `step` uses by default. */
const LMS_ORDER = 4;

// 4-point Gauss-Legendre rule: exact for polynomials of degree <= 7; the Lagrange basis here has degree <= 3.
const GAUSS_NODES = [
  -0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526,
];
const GAUSS_WEIGHTS = [
  0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538,
];

/**
 * Linear multistep (k-diffusion's `sample_lms`), as diffusers' `LMSDiscreteScheduler`: each step combines
 * the last (up to 4) slopes with weights that integrate the Lagrange basis polynomials over the next
 * sigma interval. diffusers integrates numerically (scipy `quad`, epsrel 1e-4); the polynomials are
 * integrated exactly here, which agrees to within that tolerance. Epsilon, v_prediction and sample
 * outputs; Karras or exponential sigmas.
 *
 * @example
 * const s = new LMSDiscreteScheduler({ beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 });
 * s.setTimesteps(50);
 */
export class LMSDiscreteScheduler extends SigmaScheduler implements Scheduler {
  readonly name = NAME;
  readonly order = 1;
  /** Slopes of the previous steps, oldest first (at most LMS_ORDER). */
  private derivatives: Float32Array[] = [];

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, LMS_DEFAULTS);
    const betas = makeBetas({ ...resolved, rescale_betas_zero_snr: false }, NAME);
    super(resolved, alphasCumprodOf(betas), sigmaSpacingOf(resolved, NAME));
  }

  setTimesteps(numInferenceSteps: number): void {
    const { sigmas, timesteps } = this.kDiffusionSchedule(numInferenceSteps);
    this.startRun([...sigmas, 0], timesteps);
    this.derivatives = [];
  }

  /**
   * The weight of the slope taken `currentOrder` steps ago in an `order`-step LMS update at step `t`:
   * the integral over [sigma_t, sigma_t+1] of the Lagrange basis polynomial that is 1 at that slope's
   * sigma and 0 at the others.
   */
  lmsCoefficient(order: number, t: number, currentOrder: number): number {
    const s = (i: number): number => this.sigmaAt(i);
    const basis = (tau: number): number => {
      let prod = 1;
      for (let k = 0; k < order; k++) {
        if (k === currentOrder) continue;
        prod *= (tau - s(t - k)) / (s(t - currentOrder) - s(t - k));
      }
      return prod;
    };
    const a = s(t);
    const b = s(t + 1);
    const half = (b - a) / 2;
    const mid = (a + b) / 2;
    let sum = 0;
    for (let i = 0; i < GAUSS_NODES.length; i++)
      sum += GAUSS_WEIGHTS[i]! * basis(mid + half * GAUSS_NODES[i]!);
    return sum * half;
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
    const x = sample.data;
    const predOriginal = this.predictOriginal(modelOutput, sample, sigma);
    this.derivatives.push(toDerivative(x, predOriginal, sigma));
    if (this.derivatives.length > LMS_ORDER) this.derivatives.shift();

    const order = Math.min(index + 1, LMS_ORDER);
    // A run that starts mid-schedule (img2img) has fewer slopes than `order`: like diffusers' zip(),
    // use the weights of the slopes there are.
    const terms = Math.min(order, this.derivatives.length);
    // torch multiplies a float32 tensor by a Python float in float32: round the weights first.
    const coeffs = Array.from({ length: terms }, (_, k) =>
      f32(this.lmsCoefficient(order, index, k)),
    );
    const newestFirst = [...this.derivatives].reverse();
    const prev = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      let acc = f32(coeffs[0]! * newestFirst[0]![i]!);
      for (let k = 1; k < terms; k++) acc = f32(acc + f32(coeffs[k]! * newestFirst[k]![i]!));
      prev[i] = x[i]! + acc;
    }
    return this.finishStep(index, prev, predOriginal, sample.dims);
  }
}
