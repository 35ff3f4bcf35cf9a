import { describe, expect, it } from "vitest";
import {
  cumprodF32,
  integerTimesteps,
  karrasSigmas,
  numpyArange,
  numpyLinspace,
  roundHalfEven,
  sigmaToT,
  thresholdSample,
  torchLinspaceF32,
} from "./common.ts";

const f32 = Math.fround;

describe("array constructors", () => {
  it("ends torch.linspace exactly on end, as torch's backward fill of the second half does", () => {
    const betas = torchLinspaceF32(0.0001, 0.02, 1000);
    expect(betas[0]).toBe(f32(0.0001));
    expect(betas[999]).toBe(f32(0.02));
    expect(Array.from(torchLinspaceF32(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it("rounds each partial product of cumprod to float32 without compounding the rounding", () => {
    const out = cumprodF32(Float32Array.from([0.5, 0.5, 0.5]));
    expect(Array.from(out)).toEqual([0.5, 0.25, 0.125]);
  });

  it("follows numpy's linspace and arange lengths", () => {
    expect(Array.from(numpyLinspace(0, 10, 4, false))).toEqual([0, 2.5, 5, 7.5]);
    expect(Array.from(numpyLinspace(0, 999, 4))).toEqual([0, 333, 666, 999]);
    expect(numpyArange(1000, 0, -1000 / 7)).toHaveLength(7);
    expect(numpyArange(1000, 0, -100)).toHaveLength(10);
  });

  it("rounds halves to even like np.round", () => {
    expect([0.5, 1.5, 2.5, -2.5, 166.5, 499.5, 2.4999].map(roundHalfEven)).toEqual([
      0, 2, 2, -2, 166, 500, 2,
    ]);
  });
});

describe("timestep spacing", () => {
  it("spaces leading timesteps by T // n and adds steps_offset", () => {
    expect(integerTimesteps("leading", 1000, 5, 1)).toEqual([801, 601, 401, 201, 1]);
  });

  it("spaces trailing timesteps back from T - 1", () => {
    expect(integerTimesteps("trailing", 1000, 4, 0)).toEqual([999, 749, 499, 249]);
  });

  it("rounds linspace timesteps half to even", () => {
    // linspace(0, 999, 7) = 0, 166.5, 333, 499.5, 666, 832.5, 999
    expect(integerTimesteps("linspace", 1000, 7, 0)).toEqual([999, 832, 666, 500, 333, 166, 0]);
  });
});

describe("sigma helpers", () => {
  const logSigmas = Float32Array.from([1, 2, 4], Math.log);

  it("maps a training sigma back to its index and interpolates in log space between them", () => {
    expect(sigmaToT(2, logSigmas)).toBeCloseTo(1, 6);
    expect(sigmaToT(Math.sqrt(8), logSigmas)).toBeCloseTo(1.5, 6);
  });

  it("clamps sigmas outside the table to its ends", () => {
    expect(sigmaToT(100, logSigmas)).toBe(2);
    expect(sigmaToT(0.5, logSigmas)).toBe(0);
  });

  it("starts Karras sigmas at sigma_max and ends at sigma_min with rho-th-root spacing", () => {
    const sigmas = karrasSigmas(0.1, 10, 3);
    expect(sigmas[0]).toBeCloseTo(10, 10);
    expect(sigmas[2]).toBeCloseTo(0.1, 10);
    expect(sigmas[1]).toBeCloseTo(((10 ** (1 / 7) + 0.1 ** (1 / 7)) / 2) ** 7, 10);
  });
});

describe("thresholdSample", () => {
  it("clamps to the ratio quantile of |x| bounded by [1, sample_max_value] and rescales", () => {
    const values = Float32Array.from([0.5, -3, 2, 1]);
    // ratio 1: s = max|x| = 3, capped at 2.5
    expect(Array.from(thresholdSample(values, [1, 4], 1, 2.5))).toEqual(
      [0.2, -1, 0.8, 0.4].map(f32),
    );
    // ratio 0.5: rank 1.5 between sorted |x| 1 and 2 -> s = 1.5
    expect(Array.from(thresholdSample(values, [1, 4], 0.5, 2.5))).toEqual(
      [1 / 3, -1, 1, 2 / 3].map(f32),
    );
  });

  it("thresholds each batch item separately", () => {
    const out = thresholdSample(Float32Array.from([4, 0.5, 0.5, 0.5]), [2, 2], 1, 10);
    expect(Array.from(out)).toEqual([1, 0.125, 0.5, 0.5]);
  });
});
