import { describe, expect, it } from "vitest";
import { type Tensor, tensor } from "../tensor/index.ts";
import { DPMSolverMultistepScheduler } from "./dpm-solver-multistep.ts";
import { SchedulerError } from "./errors.ts";
import { describeMultistepCases, dummyModel, maxAbsDiff, rampSample } from "./test-helpers.ts";

describeMultistepCases({
  className: "DPMSolverMultistepScheduler",
  prefix: "dpm_multi",
  create: (config) => new DPMSolverMultistepScheduler(config),
  minShared: 3,
  minGoldens: 30,
  variants: "solver",
});

describe("DPMSolverMultistepScheduler", () => {
  it("ends on the x0 prediction when the final sigma is zero", () => {
    const s = new DPMSolverMultistepScheduler({});
    s.setTimesteps(10);
    let x = rampSample([4, 3, 8, 8]);
    let last: { prev: Tensor; x0: Tensor | undefined } | null = null;
    for (const t of s.timesteps) {
      const out = s.step(dummyModel(x, t), t, x);
      last = { prev: out.prevSample, x0: out.predOriginalSample };
      x = out.prevSample;
    }
    expect(s.sigmas.at(-1)).toBe(0);
    expect(maxAbsDiff(last!.prev.data, last!.x0!.data)).toBe(0);
  });

  it("makes the step between two equal sigmas the identity, where diffusers' heun gives NaN", () => {
    // Karras sigmas end on sigma_min, and final_sigmas_type sigma_min repeats it: h = 0 at the last step.
    const s = new DPMSolverMultistepScheduler({
      use_karras_sigmas: true,
      final_sigmas_type: "sigma_min",
      lower_order_final: false,
      solver_type: "heun",
    });
    s.setTimesteps(10);
    expect(s.sigmas.at(-1)).toBe(s.sigmas.at(-2));
    let x = rampSample([4, 3, 8, 8]);
    const timesteps = s.timesteps;
    for (const [i, t] of timesteps.entries()) {
      const prev = s.step(dummyModel(x, t), t, x).prevSample;
      if (i === timesteps.length - 1) expect(maxAbsDiff(prev.data, x.data)).toBe(0);
      x = prev;
    }
    expect(x.data.every(Number.isFinite)).toBe(true);
  });

  it("thresholds x0 per batch item, scaling only the items whose quantile exceeds 1", () => {
    const s = new DPMSolverMultistepScheduler({
      prediction_type: "sample",
      thresholding: true,
      sample_max_value: 10,
    });
    s.setTimesteps(5);
    const x0 = new Float32Array(2 * 4 * 4).fill(0.5);
    x0.fill(4, 0, 16); // batch item 0: |x0| = 4 everywhere, so s = 4 and x0 / s = 1
    const out = s.step(
      tensor(x0, [2, 1, 4, 4]),
      s.timesteps[0]!,
      tensor(new Float32Array(32), [2, 1, 4, 4]),
    );
    const predicted = out.predOriginalSample!.data;
    expect(Array.from(predicted.subarray(0, 16))).toEqual(new Array(16).fill(1));
    expect(Array.from(predicted.subarray(16))).toEqual(new Array(16).fill(0.5));
  });

  it("keeps the first 3 channels of a learned-variance model output", () => {
    const run = (variance: boolean): Float32Array => {
      const s = new DPMSolverMultistepScheduler(variance ? { variance_type: "learned_range" } : {});
      s.setTimesteps(4);
      let x = rampSample([1, 3, 4, 4]);
      for (const t of s.timesteps) {
        const eps = dummyModel(x, t);
        const out = variance
          ? tensor(Float32Array.from([...eps.data, ...new Float32Array(48).fill(7)]), [1, 6, 4, 4])
          : eps;
        x = s.step(out, t, x).prevSample;
      }
      return x.data;
    };
    expect(maxAbsDiff(run(true), run(false))).toBe(0);
  });

  it("draws one normal per element each step for sde-dpmsolver++ and demands a noise source", () => {
    const s = new DPMSolverMultistepScheduler({ algorithm_type: "sde-dpmsolver++" });
    s.setTimesteps(3);
    const x = rampSample([1, 2, 2, 2]);
    const t = s.timesteps[0]!;
    expect(() => s.step(dummyModel(x, t), t, x)).toThrow(/sde-dpmsolver\+\+ needs options\.noise/);
    const draws: number[] = [];
    const noise = {
      randn(n: number): Float32Array {
        draws.push(n);
        return new Float32Array(n);
      },
    };
    s.setTimesteps(3);
    let y = x;
    for (const ti of s.timesteps) y = s.step(dummyModel(y, ti), ti, y, { noise }).prevSample;
    expect(draws).toEqual([8, 8, 8]);
  });

  it("rejects configs diffusers rejects or cannot run", () => {
    expect(() => new DPMSolverMultistepScheduler({ algorithm_type: "dpmsolver" })).toThrow(
      /final_sigmas_type "zero" needs algorithm_type dpmsolver\+\+/,
    );
    expect(
      () =>
        new DPMSolverMultistepScheduler({ use_karras_sigmas: true, use_exponential_sigmas: true }),
    ).toThrow(SchedulerError);
    expect(() => new DPMSolverMultistepScheduler({ use_beta_sigmas: true })).toThrow(
      /use_beta_sigmas/,
    );
    expect(
      () =>
        new DPMSolverMultistepScheduler({
          algorithm_type: "dpmsolver",
          prediction_type: "flow_prediction",
          final_sigmas_type: "sigma_min",
        }),
    ).toThrow(/prediction_type must be one of/);
  });

  it("refuses to step before setTimesteps or past the last timestep", () => {
    const s = new DPMSolverMultistepScheduler({});
    const x = rampSample([1, 1, 2, 2]);
    expect(() => s.step(x, 999, x)).toThrow(/call setTimesteps first/);
    s.setTimesteps(2);
    for (const t of s.timesteps) s.step(dummyModel(x, t), t, x);
    expect(() => s.step(x, 0, x)).toThrow(/called more than the 2 steps/);
  });

  it("reads diffusers' legacy algorithm and solver names as diffusers does", () => {
    const s = new DPMSolverMultistepScheduler({ algorithm_type: "deis", solver_type: "bh2" });
    expect(s.config.algorithm_type).toBe("dpmsolver++");
    expect(s.config.solver_type).toBe("midpoint");
  });
});
