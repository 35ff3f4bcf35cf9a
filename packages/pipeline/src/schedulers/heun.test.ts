import { describe, expect, it } from "vitest";
import { tensor } from "../tensor/index.ts";
import { HeunDiscreteScheduler } from "./heun.ts";

describe("HeunDiscreteScheduler", () => {
  it("visits every timestep after the first twice", () => {
    const s = new HeunDiscreteScheduler({});
    s.setTimesteps(4);
    expect(s.order).toBe(2);
    expect(s.timesteps).toEqual([999, 666, 666, 333, 333, 0, 0]);
    expect(s.sigmaSchedule).toHaveLength(8);
  });

  it("alternates first- and second-order steps", () => {
    const s = new HeunDiscreteScheduler({});
    s.setTimesteps(3);
    const x = tensor(Float32Array.from([0.1, 0.2, 0.3, 0.4]), [1, 1, 2, 2]);
    const states: boolean[] = [];
    for (const t of s.timesteps) {
      states.push(s.stateInFirstOrder);
      s.step(x, t, x);
    }
    expect(states).toEqual([true, false, true, false, true]);
  });
});
