import { describe, expect, it } from "vitest";
import { tensor } from "../tensor/index.ts";
import { LCMScheduler } from "./lcm.ts";
import { countingNoise } from "./test-helpers.ts";

const x = () => tensor(Float32Array.from([0.1, -0.2, 0.3, 0.4]), [1, 1, 2, 2]);

describe("LCMScheduler", () => {
  it("picks timesteps from the 50-step distillation schedule", () => {
    const s = new LCMScheduler({});
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([999, 759, 499, 259]);
    s.setTimesteps(1);
    expect(s.timesteps).toEqual([999]);
  });

  it("refuses more steps than original_inference_steps", () => {
    expect(() => new LCMScheduler({}).setTimesteps(51)).toThrow(
      "steps must be an integer in [1, 50], got 51",
    );
  });

  it("re-noises between steps but not after the last one", () => {
    const s = new LCMScheduler({});
    s.setTimesteps(2);
    expect(() => s.step(x(), 999, x())).toThrow(/options.noise is required before the last step/);
    const noise = countingNoise();
    s.setTimesteps(2);
    s.step(x(), 999, x(), { noise });
    const last = s.step(x(), s.timesteps[1]!, x());
    expect(noise.drawn()).toBe(4);
    expect(last.prevSample.data).toEqual(last.predOriginalSample?.data);
  });

  it("accepts custom descending timesteps and reports each one's successor", () => {
    const s = new LCMScheduler({});
    s.setCustomTimesteps([100, 87, 50, 1, 0]);
    expect([100, 87, 50, 1, 0].map((t) => s.previousTimestep(t))).toEqual([87, 50, 1, 0, -1]);
    expect(() => s.setCustomTimesteps([10, 20])).toThrow(/descending order/);
    expect(() => s.setCustomTimesteps([1000])).toThrow(/integers in \[0, 999\], got 1000/);
  });
});
