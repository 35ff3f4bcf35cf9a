import { type Tensor, tensor } from "../tensor/index.ts";
import { AlphaScheduler } from "./alpha-scheduler.ts";
import {
  alphasCumprodOf,
  checkSameDims,
  checkSteps,
  integerTimesteps,
  levelFromAlphaProd,
  makeBetas,
  predictEpsilon,
  unsupportedPrediction,
} from "./common.ts";
import {
  type ResolvedSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
} from "./config.ts";
import { SchedulerError } from "./errors.ts";
import type { Scheduler, StepOptions, StepOutput } from "./types.ts";

const NAME = "PNDMScheduler";
/** Math.fround bound here, not imported: see common.ts. */
const f32 = Math.fround;

/** PNDMScheduler's `__init__` defaults that differ from `BASE_SCHEDULER_DEFAULTS`. */
export const PNDM_DEFAULTS: Partial<ResolvedSchedulerConfig> = {
  skip_prk_steps: false,
  set_alpha_to_one: false,
  timestep_spacing: "leading",
};

/** Number of previous model outputs the linear multistep part combines. */
const PNDM_ORDER = 4;

/**
 * Pseudo Numerical methods for Diffusion Models (Liu et al. 2022), as diffusers' `PNDMScheduler`:
 * a Runge-Kutta warm-up (PRK: 3 steps of 4 model calls, on half-step timesteps) followed by
 * 4th-order linear multistep (PLMS) steps. With `skip_prk_steps` (Stable Diffusion's configs) the
 * warm-up is replaced by lower-order PLMS steps, repeating one timestep. `timesteps` is the PRK part
 * followed by the PLMS part, and `step` dispatches on the call count like diffusers' `step`.
 * Epsilon and v_prediction outputs.
 *
 * @example
 * const s = new PNDMScheduler({ skip_prk_steps: true });
 * s.setTimesteps(50); // 51 timesteps: the second one appears twice
 */
export class PNDMScheduler extends AlphaScheduler implements Scheduler {
  readonly name = NAME;
  /** The Runge-Kutta warm-up timesteps (empty with skip_prk_steps). */
  private prk: number[] = [];
  /** The linear multistep timesteps. */
  private plms: number[] = [];
  private numInferenceSteps: number | null = null;
  private counter = 0;
  /** Model outputs of the previous PLMS steps (and of each PRK step's first call), oldest first. */
  private ets: Float32Array[] = [];
  /** Running RK4 combination of the current PRK step's model outputs. */
  private curModelOutput: Float32Array | null = null;
  private curSample: Float32Array | null = null;

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveSchedulerConfig(config, PNDM_DEFAULTS);
    const prediction = resolved.prediction_type;
    if (prediction !== "epsilon" && prediction !== "v_prediction") {
      throw unsupportedPrediction(NAME, prediction, ["epsilon", "v_prediction"]);
    }
    super(
      resolved,
      alphasCumprodOf(makeBetas({ ...resolved, rescale_betas_zero_snr: false }, NAME)),
    );
  }

  /** The Runge-Kutta warm-up timesteps of the current run (empty with skip_prk_steps). */
  get prkTimesteps(): readonly number[] {
    return this.prk;
  }

  /** The linear multistep timesteps of the current run. */
  get plmsTimesteps(): readonly number[] {
    return this.plms;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const T = c.num_train_timesteps;
    checkSteps(NAME, numInferenceSteps, T);
    this.numInferenceSteps = numInferenceSteps;
    // Ascending, as diffusers builds `_timesteps` before reversing.
    const base = integerTimesteps(
      c.timestep_spacing,
      T,
      numInferenceSteps,
      c.steps_offset,
    ).reverse();

    if (c.skip_prk_steps) {
      // Repeat the second-to-last timestep: PLMS bootstraps with a two-call Heun-like first step there.
      this.prk = [];
      this.plms = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
    } else {
      const half = Math.floor(Math.floor(T / numInferenceSteps) / 2);
      const pairs = base.slice(-PNDM_ORDER).flatMap((t) => [t, t + half]);
      const doubled = pairs.slice(0, -1).flatMap((t) => [t, t]);
      this.prk = doubled.slice(1, -1).reverse();
      this.plms = base.slice(0, -3).reverse();
    }
    this.schedule = [...this.prk, ...this.plms];
    this.ets = [];
    this.counter = 0;
    this.curModelOutput = null;
    this.curSample = null;
  }

  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    _options: StepOptions = {},
  ): StepOutput {
    return this.counter < this.prk.length && !this.config.skip_prk_steps
      ? this.stepPrk(modelOutput, timestep, sample)
      : this.stepPlms(modelOutput, timestep, sample);
  }

  /** One call of the Runge-Kutta warm-up (4 calls per step, combined with RK4 weights). */
  stepPrk(modelOutput: Tensor, timestep: number, sample: Tensor): StepOutput {
    const steps = this.requireSteps();
    checkSameDims(NAME, "model output", modelOutput, sample);
    const T = this.config.num_train_timesteps;
    const diffToPrev = this.counter % 2 ? 0 : Math.floor(Math.floor(T / steps) / 2);
    const prevTimestep = timestep - diffToPrev;
    const stepStart = this.prk[Math.floor(this.counter / 4) * 4]!;
    const m = modelOutput.data;
    let output = m;
    const phase = this.counter % 4;
    if (phase === 0) {
      this.curModelOutput = scaledAdd(this.curModelOutput, 1 / 6, m);
      this.ets.push(m);
      this.curSample = sample.data;
    } else if (phase === 1 || phase === 2) {
      this.curModelOutput = scaledAdd(this.curModelOutput, 1 / 3, m);
    } else {
      output = scaledAdd(this.curModelOutput, 1 / 6, m);
      this.curModelOutput = null;
    }
    const prev = this.prevSample(this.curSample ?? sample.data, stepStart, prevTimestep, output);
    this.counter++;
    return { prevSample: tensor(prev, sample.dims) };
  }

  /** One linear multistep step (lower order until four model outputs are known). */
  stepPlms(modelOutput: Tensor, timestep: number, sample: Tensor): StepOutput {
    const steps = this.requireSteps();
    checkSameDims(NAME, "model output", modelOutput, sample);
    if (!this.config.skip_prk_steps && this.ets.length < 3) {
      throw new SchedulerError(
        `${NAME}.stepPlms: needs the ${this.prk.length} PRK warm-up steps first (skip_prk_steps is false)`,
      );
    }
    const stride = Math.floor(this.config.num_train_timesteps / steps);
    let prevTimestep = timestep - stride;
    let current = timestep;
    const m = modelOutput.data;
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(m);
    } else {
      prevTimestep = timestep;
      current = timestep + stride;
    }

    const e = this.ets;
    const n = e.length;
    let x = sample.data;
    let output: Float32Array;
    if (n === 1 && this.counter === 0) {
      output = m;
      this.curSample = x;
    } else if (n === 1 && this.counter === 1) {
      output = combine(m.length, (i) => f32(m[i]! + e[0]![i]!) / 2);
      x = this.curSample ?? x;
      this.curSample = null;
    } else if (n === 2) {
      output = combine(m.length, (i) => f32(f32(3 * e[1]![i]!) - e[0]![i]!) / 2);
    } else if (n === 3) {
      output = combine(m.length, (i) => {
        const a = f32(f32(23 * e[2]![i]!) - f32(16 * e[1]![i]!));
        return f32(a + f32(5 * e[0]![i]!)) / 12;
      });
    } else {
      const w = f32(1 / 24);
      output = combine(m.length, (i) => {
        const a = f32(f32(55 * e[3]![i]!) - f32(59 * e[2]![i]!));
        const b = f32(f32(a + f32(37 * e[1]![i]!)) - f32(9 * e[0]![i]!));
        return w * b;
      });
    }
    const prev = this.prevSample(x, current, prevTimestep, output);
    this.counter++;
    return { prevSample: tensor(prev, sample.dims) };
  }

  private requireSteps(): number {
    if (this.numInferenceSteps === null)
      throw new SchedulerError(`${NAME}.step: call setTimesteps first`);
    return this.numInferenceSteps;
  }

  /** Formula (9) of the PNDM paper: x_{t-δ} from x_t and the (combined) noise estimate. */
  private prevSample(
    x: Float32Array,
    t: number,
    prevT: number,
    output: Float32Array,
  ): Float32Array {
    const alphaProdT = this.alphaProd(t);
    const alphaProdPrev = this.alphaProdOrFinal(prevT);
    const betaProdT = f32(1 - alphaProdT);
    const betaProdPrev = f32(1 - alphaProdPrev);
    const eps =
      this.config.prediction_type === "v_prediction"
        ? predictEpsilon("v_prediction", output, x, levelFromAlphaProd(alphaProdT))
        : output;
    const sampleCoeff = f32(Math.sqrt(f32(alphaProdPrev / alphaProdT)));
    const denom = f32(
      f32(alphaProdT * f32(Math.sqrt(betaProdPrev))) +
        f32(Math.sqrt(f32(f32(alphaProdT * betaProdT) * alphaProdPrev))),
    );
    const diff = f32(alphaProdPrev - alphaProdT);
    return combine(x.length, (i) => f32(sampleCoeff * x[i]!) - f32(f32(diff * eps[i]!) / denom));
  }
}

function combine(length: number, at: (i: number) => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = at(i);
  return out;
}

/** `acc + w * values` in float32 (`acc` null reads as the Python int 0 diffusers starts from). */
function scaledAdd(acc: Float32Array | null, weight: number, values: Float32Array): Float32Array {
  const w = f32(weight);
  return combine(values.length, (i) => (acc === null ? 0 : acc[i]!) + f32(w * values[i]!));
}
