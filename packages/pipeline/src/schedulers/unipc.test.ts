import { describe, expect, it } from "vitest";
import { type Tensor, tensor } from "../tensor/index.ts";
import type { SchedulerConfig } from "./config.ts";
import { describeMultistepCases, dummyModel, maxAbsDiff, rampSample } from "./test-helpers.ts";
import { solveF32, UniPCMultistepScheduler } from "./unipc.ts";

describeMultistepCases({
  className: "UniPCMultistepScheduler",
  prefix: "unipc",
  create: (config) => new UniPCMultistepScheduler(config),
  minShared: 2,
  minGoldens: 20,
  variants: "predictor/corrector",
});

/** Runs the dummy loop; returns the final sample and the last step's input, output and x0. */
function runLoop(config: SchedulerConfig, steps: number) {
  const s = new UniPCMultistepScheduler(config);
  s.setTimesteps(steps);
  let x = rampSample([4, 3, 8, 8]);
  let lastInput = x;
  let lastModelOutput = x;
  let lastX0: Tensor | undefined;
  for (const t of s.timesteps) {
    lastInput = x;
    lastModelOutput = dummyModel(x, t);
    const out = s.step(lastModelOutput, t, x);
    lastX0 = out.predOriginalSample;
    x = out.prevSample;
  }
  return { scheduler: s, final: x, lastInput, lastModelOutput, lastX0 };
}

describe("UniPCMultistepScheduler", () => {
  it("ends bh1 on the x0 prediction when the final sigma is zero, where diffusers gives NaN", () => {
    const { final, lastX0 } = runLoop({ solver_type: "bh1" }, 10);
    expect(final.data.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(final.data, lastX0!.data)).toBe(0);
  });

  it("takes a first-order last step into a zero sigma even without lower_order_final", () => {
    for (const solver_order of [2, 3]) {
      const { final, lastX0 } = runLoop({ solver_order, lower_order_final: false }, 10);
      expect(maxAbsDiff(final.data, lastX0!.data)).toBe(0);
    }
  });

  it("ends noise prediction on (x - sigma_s * eps) / alpha_s when the final sigma is zero", () => {
    // No corrector at the last step, so its input is the sample the predictor starts from.
    const { scheduler, final, lastInput, lastModelOutput } = runLoop(
      { predict_x0: false, disable_corrector: [8] },
      10,
    );
    const sigma = scheduler.sigmas.at(-2)!;
    const alphaS = 1 / Math.sqrt(sigma * sigma + 1);
    const sigmaS = sigma * alphaS;
    const expected = lastInput.data.map((x, i) => (x - sigmaS * lastModelOutput.data[i]!) / alphaS);
    expect(maxAbsDiff(final.data, expected)).toBeLessThan(1e-6);
  });

  it("keeps its own copy of the sample the corrector needs", () => {
    const run = (clobber: boolean): Float32Array => {
      const s = new UniPCMultistepScheduler({ solver_order: 3 });
      s.setTimesteps(8);
      let x = rampSample([2, 3, 4, 4]);
      for (const t of s.timesteps) {
        const input = tensor(x.data.slice(), x.dims);
        x = s.step(dummyModel(input, t), t, input).prevSample;
        if (clobber) input.data.fill(123);
      }
      return x.data;
    };
    expect(maxAbsDiff(run(true), run(false))).toBe(0);
  });

  it("rejects configs it cannot run and steps before setTimesteps", () => {
    expect(() => new UniPCMultistepScheduler({ use_beta_sigmas: true })).toThrow(/use_beta_sigmas/);
    expect(
      () => new UniPCMultistepScheduler({ predict_x0: false, prediction_type: "flow_prediction" }),
    ).toThrow(/prediction_type must be one of/);
    const s = new UniPCMultistepScheduler({});
    const x = rampSample([1, 1, 2, 2]);
    expect(() => s.step(x, 999, x)).toThrow(/call setTimesteps first/);
  });

  it("maps DPM-Solver's solver types onto bh2 as diffusers does", () => {
    expect(new UniPCMultistepScheduler({ solver_type: "midpoint" }).config.solver_type).toBe("bh2");
    expect(new UniPCMultistepScheduler({ solver_type: "bh1" }).config.solver_type).toBe("bh1");
  });
});

describe("solveF32", () => {
  it("solves small systems, pivoting past a zero on the diagonal", () => {
    const [a, b] = solveF32(
      [
        [2, 1],
        [1, 3],
      ],
      [3, 5],
    );
    expect(a).toBeCloseTo(0.8, 6);
    expect(b).toBeCloseTo(1.4, 6);
    const x = solveF32(
      [
        [0, 1, 1],
        [1, 0, 1],
        [1, 1, 0],
      ],
      [5, 4, 3],
    );
    // x + y = 3, x + z = 4, y + z = 5  ->  x = 1, y = 2, z = 3
    expect(x.map((v) => Number(v.toFixed(6)))).toEqual([1, 2, 3]);
  });

  it("reports a singular system instead of returning infinities", () => {
    expect(() =>
      solveF32(
        [
          [1, 1],
          [2, 2],
        ],
        [1, 2],
      ),
    ).toThrow(/singular/);
  });
});
