import { describe, expect, it } from "vitest";
import { tensor } from "../tensor/index.ts";
import { PNDMScheduler } from "./pndm.ts";

const SD = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 } as const;

describe("PNDMScheduler", () => {
  it("repeats the second timestep when PRK steps are skipped", () => {
    const s = new PNDMScheduler({ ...SD, skip_prk_steps: true, steps_offset: 1 });
    s.setTimesteps(10);
    expect(s.timesteps).toEqual([901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(s.prkTimesteps).toEqual([]);
  });

  it("lists the PRK half-steps before the PLMS steps", () => {
    const s = new PNDMScheduler({});
    s.setTimesteps(10);
    expect(s.prkTimesteps).toEqual([900, 850, 850, 800, 800, 750, 750, 700, 700, 650, 650, 600]);
    // The last PRK step lands on 600, where PLMS starts.
    expect(s.plmsTimesteps).toEqual([600, 500, 400, 300, 200, 100, 0]);
    expect(s.timesteps).toEqual([...s.prkTimesteps, ...s.plmsTimesteps]);
  });

  it("refuses PLMS steps before the PRK warm-up", () => {
    const s = new PNDMScheduler({});
    s.setTimesteps(10);
    const x = tensor(new Float32Array(4), [1, 1, 2, 2]);
    expect(() => s.stepPlms(x, 500, x)).toThrow(/needs the 12 PRK warm-up steps first/);
  });

  it("rejects sample prediction, which diffusers' PNDM does not implement", () => {
    expect(() => new PNDMScheduler({ prediction_type: "sample" })).toThrow(
      'PNDMScheduler: prediction_type must be one of epsilon, v_prediction, got "sample"',
    );
  });
});
