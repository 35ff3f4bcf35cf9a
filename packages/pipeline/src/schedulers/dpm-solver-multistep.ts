import type { Tensor } from "../tensor/index.ts";
import {
  checkSameDims,
  levelFromSigma,
  type NoiseLevel,
  predictEpsilon,
  predictOriginal,
  sigmaSafeAlphasCumprod,
  thresholdSample,
} from "./common.ts";
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

const NAME = "DPMSolverMultistepScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/** DPMSolverMultistepScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const DPM_SOLVER_MULTISTEP_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  timestep_spacing: "linspace",
  solver_order: 2,
  algorithm_type: "dpmsolver++",
  solver_type: "midpoint",
  lower_order_final: true,
  final_sigmas_type: "zero",
};

const RULES: ScheduleRules = {
  lambdaClipping: true,
  luLambdas: true,
  roundUnlessCosine: true,
  configSigmaBounds: false,
  respacedSigmaLast: false,
};

type Algorithm = "dpmsolver" | "dpmsolver++" | "sde-dpmsolver" | "sde-dpmsolver++";

/**
 * The scalar coefficients of one update, `x_t = A*x + B*D0 + C*D1 + E*D2 + N*noise` (float32), in the
 * order diffusers adds the terms. D0 is the newest converted model output, D1/D2 its divided differences.
 */
interface Coefficients {
  A: number;
  B: number;
  C: number;
  E: number;
  N: number;
}

/**
 * DPM-Solver (Lu et al. 2022) and DPM-Solver++ (Lu et al. 2022b) multistep, as diffusers'
 * `DPMSolverMultistepScheduler`: orders 1-3, `midpoint`/`heun` second-order variants, the SDE variants
 * (noise from `options.noise`), Karras / exponential / Lu-lambda sigmas, `lower_order_final`,
 * `euler_at_final`, `final_sigmas_type`, `lambda_min_clipped`, dynamic thresholding and epsilon /
 * v_prediction / sample / flow_prediction outputs. Arithmetic follows diffusers' float32 tensors
 * operation by operation, so results agree to the last bit or so.
 *
 * One deliberate difference: where a step has h = 0 (the last two sigmas equal, e.g. Karras sigmas with
 * `final_sigmas_type: "sigma_min"` and `lower_order_final: false`), diffusers' heun and third-order
 * coefficients are 0/0 = NaN; this port uses their limit (the step returns `(sigma_t/sigma_s) * x`,
 * which is also exactly what diffusers' midpoint update gives there).
 *
 * Defaults (diffusers'): solver_order 2, algorithm_type "dpmsolver++", solver_type "midpoint",
 * lower_order_final true, final_sigmas_type "zero", timestep_spacing "linspace".
 *
 * @example
 * // "DPM++ 2M Karras"
 * const s = new DPMSolverMultistepScheduler({ ...sdSchedulerConfig, use_karras_sigmas: true });
 * s.setTimesteps(20);
 * for (const t of s.timesteps) x = s.step(unet(x, t), t, x).prevSample;
 */
export class DPMSolverMultistepScheduler extends MultistepSolver implements Scheduler {
  readonly name = NAME;
  protected readonly dataPrediction: boolean;
  private readonly algorithm: Algorithm;
  private readonly solverType: "midpoint" | "heun";

  constructor(config: SchedulerConfig = {}) {
    const c = resolveSchedulerConfig(config, DPM_SOLVER_MULTISTEP_DEFAULTS);
    // diffusers rewrites these legacy names in its config.
    const algorithm = c.algorithm_type === "deis" ? "dpmsolver++" : c.algorithm_type;
    const solverType = c.solver_type === "heun" ? "heun" : "midpoint";
    const resolved: ResolvedSchedulerConfig = {
      ...c,
      algorithm_type: algorithm,
      solver_type: solverType,
    };
    checkMultistepConfig(resolved, NAME);
    const dataPrediction = algorithm === "dpmsolver++" || algorithm === "sde-dpmsolver++";
    if (!dataPrediction && c.final_sigmas_type === "zero") {
      throw new SchedulerError(
        `${NAME}: final_sigmas_type "zero" needs algorithm_type dpmsolver++ or sde-dpmsolver++, got "${algorithm}"; use "sigma_min"`,
        { param: "final_sigmas_type" },
      );
    }
    if (algorithm === "sde-dpmsolver" && c.solver_order === 3) {
      throw new SchedulerError(
        `${NAME}: algorithm_type sde-dpmsolver supports solver_order 1 or 2, got 3`,
        { param: "solver_order" },
      );
    }
    checkMultistepPrediction(c.prediction_type, dataPrediction, NAME);
    super(resolved, sigmaSafeAlphasCumprod(resolved, NAME), RULES);
    this.dataPrediction = dataPrediction;
    this.algorithm = algorithm;
    this.solverType = solverType;
  }

  /**
   * One solver step from `timestep` to the next sigma. The step position is taken from `timestep` on the
   * first call after `setTimesteps` and then advances by one per call, as in diffusers. The SDE variants
   * draw `sample.size` normals from `options.noise` every step.
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: StepOptions = {},
  ): StepOutput {
    this.requireRun("step");
    const c = this.config;
    const timesteps = this.schedule.timesteps;
    const index = this.currentIndex(timestep);
    const last = timesteps.length - 1;
    const lowerOrderFinal =
      index === last &&
      (c.euler_at_final ||
        (c.lower_order_final && timesteps.length < 15) ||
        c.final_sigmas_type === "zero");
    const lowerOrderSecond = index === last - 1 && c.lower_order_final && timesteps.length < 15;

    const converted = this.convertOutput(modelOutput, sample, index);
    this.remember(converted);

    let noise: Float32Array | null = null;
    if (this.algorithm === "sde-dpmsolver" || this.algorithm === "sde-dpmsolver++") {
      if (options.noise === undefined) {
        throw new SchedulerError(
          `${NAME}.step: algorithm_type ${this.algorithm} needs options.noise`,
          { param: "noise" },
        );
      }
      noise = options.noise.randn(converted.length);
    }

    let order: 1 | 2 | 3 = 3;
    if (c.solver_order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) order = 1;
    else if (c.solver_order === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) order = 2;
    const prev = this.update(order, sample.data, noise);
    return this.finishStep(index, prev, converted, sample.dims);
  }

  /**
   * DPM-Solver's `convert_model_output`: the shared conversion (x0 for DPM-Solver++, eps for
   * DPM-Solver) of the model output, or of its first 3 channels when the model also predicts its
   * variance; DPM-Solver thresholds eps by a round trip through x0.
   */
  private convertOutput(raw: Tensor, sample: Tensor, index: number): Float32Array {
    const c = this.config;
    const learned = c.variance_type === "learned" || c.variance_type === "learned_range";
    const output = learned && c.prediction_type === "epsilon" ? leadingChannels(raw, 3, NAME) : raw;
    checkSameDims(NAME, "model output", output, sample);
    const converted = this.convertModelOutput(output.data, sample, index);
    if (this.dataPrediction || !c.thresholding) return converted;
    const level = levelFromSigma(this.schedule.sigmas[index]!);
    const x0 = predictOriginal("epsilon", converted, sample.data, level, NAME);
    const clipped = thresholdSample(
      x0,
      sample.dims,
      c.dynamic_thresholding_ratio,
      c.sample_max_value,
    );
    return predictEpsilon("sample", clipped, sample.data, level);
  }

  /** The order-`order` multistep update from sigmas[i] to sigmas[i+1], as a new array. */
  private update(order: 1 | 2 | 3, x: Float32Array, noise: Float32Array | null): Float32Array {
    const i = this.stepIndex!;
    const sigmas = this.schedule.sigmas;
    const t = levelFromSigma(sigmas[i + 1]!);
    const s0 = levelFromSigma(sigmas[i]!);
    const h = f32(t.lambda - s0.lambda);
    const n = x.length;
    const out = new Float32Array(n);
    const outputs = this.modelOutputs;
    const m0 = outputs[outputs.length - 1]!;
    const k = this.coefficients(order, t, s0, h);
    const z = noise ?? new Float32Array(0);
    const N = k.N;

    if (h === 0) {
      // Equal sigmas: every other term has a zero (or 0/0) coefficient whose limit is zero.
      for (let j = 0; j < n; j++) out[j] = f32(k.A * x[j]!);
      return out;
    }
    if (order === 1) {
      const { A, B } = k;
      if (noise === null) for (let j = 0; j < n; j++) out[j] = f32(A * x[j]!) + f32(B * m0[j]!);
      else
        for (let j = 0; j < n; j++) out[j] = f32(f32(A * x[j]!) + f32(B * m0[j]!)) + f32(N * z[j]!);
      return out;
    }

    const s1 = levelFromSigma(sigmas[i - 1]!);
    const h0 = f32(s0.lambda - s1.lambda);
    const r0 = f32(h0 / h);
    const m1 = outputs[outputs.length - 2]!;
    if (order === 2) {
      const { A, B, C } = k;
      const inv = f32(1 / r0);
      for (let j = 0; j < n; j++) {
        const d1 = f32(inv * f32(m0[j]! - m1[j]!));
        const v = f32(f32(f32(A * x[j]!) + f32(B * m0[j]!)) + f32(C * d1));
        out[j] = noise === null ? v : f32(v + f32(N * z[j]!));
      }
      return out;
    }

    const s2 = levelFromSigma(sigmas[i - 2]!);
    const h1 = f32(s1.lambda - s2.lambda);
    const r1 = f32(h1 / h);
    const m2 = outputs[outputs.length - 3]!;
    const { A, B, C, E } = k;
    const inv0 = f32(1 / r0);
    const inv1 = f32(1 / r1);
    const rSum = f32(r0 + r1);
    const w = f32(r0 / rSum);
    const invSum = f32(1 / rSum);
    for (let j = 0; j < n; j++) {
      const d10 = f32(inv0 * f32(m0[j]! - m1[j]!));
      const d11 = f32(inv1 * f32(m1[j]! - m2[j]!));
      const diff = f32(d10 - d11);
      const d1 = f32(d10 + f32(w * diff));
      const d2 = f32(invSum * diff);
      const v = f32(f32(f32(f32(A * x[j]!) + f32(B * m0[j]!)) + f32(C * d1)) + f32(E * d2));
      out[j] = noise === null ? v : f32(v + f32(N * z[j]!));
    }
    return out;
  }

  /**
   * The float32 coefficients of diffusers' first/second/third-order updates, signs folded in
   * (x - y == x + (-y) exactly in IEEE arithmetic, so folding does not change a bit).
   */
  private coefficients(order: 1 | 2 | 3, t: NoiseLevel, s0: NoiseLevel, h: number): Coefficients {
    const k: Coefficients = { A: 0, B: 0, C: 0, E: 0, N: 0 };
    const heun = this.solverType === "heun";
    switch (this.algorithm) {
      case "dpmsolver++": {
        const em1 = f32(f32(Math.exp(-h)) - 1);
        k.A = f32(t.sigma / s0.sigma);
        k.B = -f32(t.alpha * em1);
        if (order === 2 && !heun) k.C = -f32(0.5 * f32(t.alpha * em1));
        if (order === 3 || (order === 2 && heun)) k.C = f32(t.alpha * f32(f32(em1 / h) + 1));
        if (order === 3) k.E = -f32(t.alpha * f32(f32(f32(em1 + h) / f32(h * h)) - 0.5));
        break;
      }
      case "dpmsolver": {
        const ep1 = f32(f32(Math.exp(h)) - 1);
        k.A = f32(t.alpha / s0.alpha);
        k.B = -f32(t.sigma * ep1);
        if (order === 2 && !heun) k.C = -f32(0.5 * f32(t.sigma * ep1));
        if (order === 3 || (order === 2 && heun)) k.C = -f32(t.sigma * f32(f32(ep1 / h) - 1));
        if (order === 3) k.E = -f32(t.sigma * f32(f32(f32(ep1 - h) / f32(h * h)) - 0.5));
        break;
      }
      case "sde-dpmsolver++": {
        const e2 = f32(Math.exp(f32(-2 * h)));
        const oneMinus = f32(1 - e2);
        k.A = f32(f32(t.sigma / s0.sigma) * f32(Math.exp(-h)));
        k.B = f32(t.alpha * oneMinus);
        if (order === 2 && !heun) k.C = f32(0.5 * k.B);
        if (order === 3 || (order === 2 && heun))
          k.C = f32(t.alpha * f32(f32(oneMinus / f32(-2 * h)) + 1));
        if (order === 3) {
          const twoH = f32(2 * h);
          k.E = f32(t.alpha * f32(f32(f32(oneMinus - twoH) / f32(twoH * twoH)) - 0.5));
        }
        k.N = f32(t.sigma * f32(Math.sqrt(oneMinus)));
        break;
      }
      case "sde-dpmsolver": {
        const ep1 = f32(f32(Math.exp(h)) - 1);
        k.A = f32(t.alpha / s0.alpha);
        k.B = -f32(2 * f32(t.sigma * ep1));
        if (order === 2) {
          k.C = heun ? -f32(2 * f32(t.sigma * f32(f32(ep1 / h) - 1))) : -f32(t.sigma * ep1);
        }
        k.N = f32(t.sigma * f32(Math.sqrt(f32(f32(Math.exp(f32(2 * h))) - 1))));
        break;
      }
    }
    return k;
  }
}

/**
 * The first `channels` channels of an NCHW model output: diffusers keeps `model_output[:, :3]` when the
 * model also predicts its variance (`variance_type: "learned" | "learned_range"`).
 */
function leadingChannels(output: Tensor, channels: number, owner: string): Tensor {
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
