import { describe, expect, it } from "vitest";
import { EulerDiscreteScheduler } from "./euler.ts";

const SD = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 } as const;

describe("EulerDiscreteScheduler", () => {
  it("starts from the largest sigma for linspace spacing and sqrt(sigma² + 1) of it for leading", () => {
    // Stable Diffusion's sigma_max = sqrt((1 - a_999) / a_999) = 14.6146...
    const linspace = new EulerDiscreteScheduler({ ...SD });
    linspace.setTimesteps(30);
    expect(linspace.initNoiseSigma).toBeCloseTo(14.6146, 3);
    const leading = new EulerDiscreteScheduler({
      ...SD,
      timestep_spacing: "leading",
      steps_offset: 1,
    });
    leading.setTimesteps(30);
    // leading spacing tops out at t = 29 * 33 + 1 = 958, below sigma_max
    const top = leading.sigmaSchedule[0]!;
    expect(leading.timesteps[0]).toBe(958);
    expect(top).toBeLessThan(14.6);
    expect(leading.initNoiseSigma).toBeCloseTo(Math.sqrt(top * top + 1), 5);
  });

  it("keeps fractional timesteps for linspace spacing and ends its sigmas at 0", () => {
    const s = new EulerDiscreteScheduler({});
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([999, 666, 333, 0]);
    const s7 = new EulerDiscreteScheduler({});
    s7.setTimesteps(7);
    expect(s7.timesteps[1]).toBe(832.5);
    expect(s7.sigmaSchedule.at(-1)).toBe(0);
  });

  it("rejects two sigma respacings at once and beta sigmas", () => {
    expect(
      () => new EulerDiscreteScheduler({ use_karras_sigmas: true, use_exponential_sigmas: true }),
    ).toThrow(/only one of use_karras_sigmas and use_exponential_sigmas/);
    expect(() => new EulerDiscreteScheduler({ use_beta_sigmas: true })).toThrow(
      /use_beta_sigmas is not supported/,
    );
  });
});
