import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fromFloatNCHW, toFloatNCHW } from "./convert.ts";

interface Golden {
  fromFloat: { dims: [number, number, number, number]; input: number[]; expected: number[] };
  toFloat: { width: number; height: number; rgb: number[]; expected: number[] };
}

// Produced by diffusers' VaeImageProcessor (see __goldens__/generate_convert.py).
const golden = JSON.parse(
  readFileSync(
    path.join(path.dirname(fileURLToPath(import.meta.url)), "__goldens__/convert.json"),
    "utf8",
  ),
) as Golden;

describe("fromFloatNCHW", () => {
  it("matches diffusers' postprocess bit for bit, exact float32 ties included", () => {
    const { dims, input, expected } = golden.fromFloat;
    const img = fromFloatNCHW(Float32Array.from(input), dims, 0);
    const [, , h, w] = dims;
    // The golden lists values in CHW order; our image is HWC.
    const chw = Array.from(
      { length: 3 * h * w },
      (_, i) => img.data[(i % (h * w)) * 3 + Math.floor(i / (h * w))],
    );
    let mismatches = 0;
    for (let i = 0; i < expected.length; i++) if (chw[i] !== expected[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it("maps -1 to 0, 1 to 255, 0 to 128 (127.5 rounds to even) and clamps the rest", () => {
    const data = Float32Array.from([-1, 1, 0, -3, 3, Number.NaN]);
    const img = fromFloatNCHW(data, [1, 3, 1, 2]);
    // Channel planes: R = [-1, 1], G = [0, -3], B = [3, NaN]
    expect([...img.data]).toEqual([0, 128, 255, 255, 0, 0]);
  });

  it("picks the requested image out of a batch", () => {
    const data = new Float32Array(2 * 3 * 1 * 1);
    data.set([1, 1, 1], 3);
    expect([...fromFloatNCHW(data, [2, 3, 1, 1], 1).data]).toEqual([255, 255, 255]);
    expect([...fromFloatNCHW(data, [2, 3, 1, 1], 0).data]).toEqual([128, 128, 128]);
  });

  it("rejects shapes, sizes and indices that do not fit", () => {
    const data = new Float32Array(12);
    expect(() => fromFloatNCHW(data, [1, 4, 1, 3])).toThrow(
      "fromFloatNCHW: dims must be [n, 3, h, w], got [1, 4, 1, 3]",
    );
    expect(() => fromFloatNCHW(data, [1, 3, 2, 3])).toThrow(
      "fromFloatNCHW: data has 12 values but dims [1, 3, 2, 3] need 18",
    );
    expect(() => fromFloatNCHW(data, [1, 3, 2, 2], 1)).toThrow(
      "fromFloatNCHW: index must be an integer in [0, 0], got 1",
    );
  });
});

describe("toFloatNCHW", () => {
  it("matches diffusers' preprocess bit for bit on all 256 levels", () => {
    const { width, height, rgb, expected } = golden.toFloat;
    const out = toFloatNCHW({ width, height, data: Uint8Array.from(rgb) });
    expect([...out]).toEqual(expected);
  });

  it("maps 0 to -1 and 255 to 1 exactly, in planar RGB order", () => {
    const out = toFloatNCHW({
      width: 2,
      height: 1,
      data: Uint8Array.from([0, 255, 0, 255, 0, 255]),
    });
    expect([...out]).toEqual([-1, 1, 1, -1, -1, 1]);
  });

  it("round-trips every byte value through fromFloatNCHW", () => {
    const levels = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
    const back = fromFloatNCHW(
      toFloatNCHW({ width: 256, height: 1, data: levels }),
      [1, 3, 1, 256],
    );
    expect([...back.data]).toEqual([...levels]);
  });
});
