import { describe, expect, it } from "vitest";
import { tensor } from "../tensor/index.ts";
import { EulerAncestralDiscreteScheduler } from "./euler-ancestral.ts";
import { countingNoise } from "./test-helpers.ts";

describe("EulerAncestralDiscreteScheduler", () => {
  it("draws one normal per element at every step, the last one included, like diffusers", () => {
    const s = new EulerAncestralDiscreteScheduler({});
    s.setTimesteps(5);
    const noise = countingNoise();
    let x = tensor(Float32Array.from([0.5, -0.5, 1, 2]), [1, 1, 2, 2]);
    for (const t of s.timesteps) {
      x = s.scaleModelInput(x, t);
      x = s.step(x, t, x, { noise }).prevSample;
    }
    expect(noise.drawn()).toBe(5 * 4);
  });

  it("requires a noise source", () => {
    const s = new EulerAncestralDiscreteScheduler({});
    s.setTimesteps(5);
    const x = tensor(new Float32Array(4), [1, 1, 2, 2]);
    expect(() => s.step(x, s.timesteps[0]!, x)).toThrow(/options.noise is required/);
  });

  it("rejects sample prediction, which diffusers' Euler Ancestral does not implement", () => {
    const s = new EulerAncestralDiscreteScheduler({ prediction_type: "sample" });
    s.setTimesteps(5);
    const x = tensor(new Float32Array(4), [1, 1, 2, 2]);
    expect(() =>
      s.step(x, s.timesteps[0]!, x, { noise: { randn: (n) => new Float32Array(n) } }),
    ).toThrow(/prediction_type must be one of epsilon, v_prediction/);
  });
});
