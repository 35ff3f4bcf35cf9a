import { describe, expect, it } from "vitest";
import { tensor, zeros } from "../tensor/index.ts";
import { DDIMScheduler } from "./ddim.ts";
import { SchedulerError } from "./errors.ts";
import { countingNoise } from "./test-helpers.ts";

const sample = () =>
  tensor(
    Float32Array.from({ length: 8 }, (_, i) => i / 8),
    [2, 1, 2, 2],
  );

describe("DDIMScheduler", () => {
  it("spaces timesteps as diffusers does for each timestep_spacing", () => {
    const leading = new DDIMScheduler({});
    leading.setTimesteps(10);
    expect(leading.timesteps).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    const trailing = new DDIMScheduler({ timestep_spacing: "trailing" });
    trailing.setTimesteps(10);
    expect(trailing.timesteps).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    const linspace = new DDIMScheduler({ timestep_spacing: "linspace" });
    linspace.setTimesteps(4);
    expect(linspace.timesteps).toEqual([999, 666, 333, 0]);
  });

  it("rejects step counts outside [1, num_train_timesteps] naming the limit", () => {
    const s = new DDIMScheduler({});
    expect(() => s.setTimesteps(0)).toThrow(
      "DDIMScheduler.setTimesteps: steps must be an integer in [1, 1000], got 0",
    );
    expect(() => s.setTimesteps(1001)).toThrow(SchedulerError);
  });

  it("refuses to step before setTimesteps", () => {
    expect(() => new DDIMScheduler({}).step(sample(), 900, sample())).toThrow(
      /call setTimesteps first/,
    );
  });

  it("needs a noise source only when eta > 0", () => {
    const s = new DDIMScheduler({});
    s.setTimesteps(10);
    expect(() => s.step(sample(), 900, sample())).not.toThrow();
    expect(() => s.step(sample(), 900, sample(), { eta: 1 })).toThrow(
      /eta 1 > 0 needs options.noise/,
    );
    const noise = countingNoise();
    s.step(sample(), 900, sample(), { eta: 1, noise });
    expect(noise.drawn()).toBe(8);
  });

  it("returns the sample itself from a v_prediction step at t=0 with a zero output and alpha 1 after", () => {
    // alpha_prod_0 = 1 - beta_0; x0 = sqrt(a) x, and with set_alpha_to_one the step returns x0 exactly.
    const s = new DDIMScheduler({ prediction_type: "v_prediction", clip_sample: false });
    s.setTimesteps(10);
    const x = sample();
    const out = s.step(zeros(x.dims), 0, x);
    const a = s.alphasCumprod[0]!;
    expect(Array.from(out.prevSample.data)).toEqual(
      Array.from(x.data, (v) => Math.fround(Math.fround(Math.sqrt(a)) * v)),
    );
  });

  it("rejects model outputs whose dims differ from the sample's", () => {
    const s = new DDIMScheduler({});
    s.setTimesteps(10);
    expect(() => s.step(zeros([1, 1, 2, 2]), 900, sample())).toThrow(
      /model output dims \[1,1,2,2\] must equal sample dims/,
    );
  });
});
