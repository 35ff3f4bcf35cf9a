import { describe, expect, it } from "vitest";
import { LMSDiscreteScheduler } from "./lms.ts";

describe("LMSDiscreteScheduler", () => {
  it("weights a first-order step by the sigma interval (the integral of the constant basis)", () => {
    const s = new LMSDiscreteScheduler({});
    s.setTimesteps(10);
    const sigmas = s.sigmaSchedule;
    expect(s.lmsCoefficient(1, 0, 0)).toBeCloseTo(sigmas[1]! - sigmas[0]!, 12);
  });

  it("has weights of each order that sum to the interval, since the Lagrange basis sums to 1", () => {
    const s = new LMSDiscreteScheduler({});
    s.setTimesteps(10);
    const sigmas = s.sigmaSchedule;
    for (const order of [2, 3, 4]) {
      let sum = 0;
      for (let k = 0; k < order; k++) sum += s.lmsCoefficient(order, 5, k);
      expect(sum).toBeCloseTo(sigmas[6]! - sigmas[5]!, 10);
    }
  });

  it("integrates the linear basis exactly", () => {
    const s = new LMSDiscreteScheduler({});
    s.setTimesteps(10);
    const [s0, s1, s2] = [s.sigmaSchedule[0]!, s.sigmaSchedule[1]!, s.sigmaSchedule[2]!];
    // basis of the newest slope at step 1: (tau - s0) / (s1 - s0), integrated over [s1, s2]
    const exact = ((s2 - s0) ** 2 - (s1 - s0) ** 2) / (2 * (s1 - s0));
    expect(s.lmsCoefficient(2, 1, 0)).toBeCloseTo(exact, 10);
  });
});
