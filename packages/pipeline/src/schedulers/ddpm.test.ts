import { describe, expect, it } from "vitest";
import { tensor, zeros } from "../tensor/index.ts";
import { DDPMScheduler } from "./ddpm.ts";

const x = () => tensor(Float32Array.from([0.1, -0.2, 0.3, 0.4]), [1, 1, 2, 2]);

describe("DDPMScheduler", () => {
  it("adds noise at every timestep but t = 0", () => {
    const s = new DDPMScheduler({});
    s.setCustomTimesteps([1, 0]);
    expect(() => s.step(x(), 1, x())).toThrow(
      "DDPMScheduler.step: options.noise is required for t > 0",
    );
    expect(() => s.step(x(), 0, x())).not.toThrow();
  });

  it("steps to the timestep that follows in the schedule, -1 after the last", () => {
    const s = new DDPMScheduler({ timestep_spacing: "trailing" });
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([999, 749, 499, 249]);
    expect(s.timesteps.map((t) => s.previousTimestep(t))).toEqual([749, 499, 249, -1]);
  });

  it("needs a doubled-channel model output for learned variances", () => {
    const s = new DDPMScheduler({ variance_type: "learned_range" });
    s.setTimesteps(10);
    const noise = { randn: (n: number) => new Float32Array(n) };
    expect(() => s.step(x(), 900, x(), { noise })).toThrow(
      /learned_range needs a model output with twice/,
    );
    const out = s.step(zeros([1, 2, 2, 2]), 900, x(), { noise });
    expect(out.prevSample.dims).toEqual([1, 1, 2, 2]);
  });

  it("rejects variance types it does not implement", () => {
    expect(() => new DDPMScheduler({ variance_type: "fixed_large_log" })).toThrow(
      /variance_type must be one of/,
    );
  });
});
