import { beforeAll, describe, expect, it } from "vitest";
import { resizeRgb } from "./resize.ts";
import {
  maxDiff,
  pillowAvailable,
  readRaw,
  runPillow,
  scratchDir,
  testImage,
  writeTemp,
} from "./test-support/independent.ts";
import type { RgbImage } from "./types.ts";

/** A one-channel-looking image: the same value in R, G and B. */
function grey(width: number, height: number, values: number[]): RgbImage {
  return { width, height, data: Uint8Array.from(values.flatMap((v) => [v, v, v])) };
}

function values(img: RgbImage): number[] {
  return [...img.data].filter((_, i) => i % 3 === 0);
}

describe("resizeRgb", () => {
  it("returns an equal copy when the size does not change", () => {
    const img = testImage(9, 7);
    const out = resizeRgb(img, 9, 7);
    expect(out.data).not.toBe(img.data);
    expect(maxDiff(out, img)).toBe(0);
  });

  it("averages areas when shrinking, including fractional coverage", () => {
    // 2x2 -> 1x1: (10 + 20 + 30 + 41) / 4 = 25.25 -> 25
    expect(values(resizeRgb(grey(2, 2, [10, 20, 30, 41]), 1, 1))).toEqual([25]);
    // 3 -> 2: output 0 covers pixel 0 fully and half of pixel 1: (0 + 45) / 1.5 = 30;
    // output 1 covers the other half of pixel 1 and pixel 2: (45 + 180) / 1.5 = 150.
    expect(values(resizeRgb(grey(3, 1, [0, 90, 180]), 2, 1))).toEqual([30, 150]);
  });

  it("interpolates between pixel centres when enlarging, clamping at the edges", () => {
    // Output centres 0.5, 1.5, 2.5, 3.5 map to source -0.25, 0.25, 0.75, 1.25.
    expect(values(resizeRgb(grey(2, 1, [0, 100]), 4, 1))).toEqual([0, 25, 75, 100]);
    expect(values(resizeRgb(grey(1, 2, [0, 100]), 1, 4))).toEqual([0, 25, 75, 100]);
  });

  it("shrinks one axis while enlarging the other", () => {
    // 2 wide -> 1 wide averages columns; 1 tall -> 2 tall repeats the only row.
    expect(values(resizeRgb(grey(2, 1, [10, 30]), 1, 2))).toEqual([20, 20]);
  });

  it("matches a brute-force block average for integer factors", () => {
    const img = testImage(48, 36);
    const out = resizeRgb(img, 12, 9);
    for (let y = 0; y < 9; y++) {
      for (let x = 0; x < 12; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let dy = 0; dy < 4; dy++)
            for (let dx = 0; dx < 4; dx++)
              sum += img.data[((y * 4 + dy) * 48 + x * 4 + dx) * 3 + c]!;
          expect(out.data[(y * 12 + x) * 3 + c]).toBe(Math.round(sum / 16));
        }
      }
    }
  });

  it("rejects sizes that are not positive integers", () => {
    const img = testImage(4, 4);
    expect(() => resizeRgb(img, 0, 4)).toThrow(
      "resizeRgb: width must be an integer in [1, 65535], got 0",
    );
    expect(() => resizeRgb(img, 4, 2.5)).toThrow(
      "resizeRgb: height must be an integer in [1, 65535], got 2.5",
    );
  });
});

describe.skipIf(!pillowAvailable())("resizeRgb against Pillow", () => {
  const scratch = scratchDir();
  const source = testImage(96, 64);
  const jobs = [
    { name: "BOX downscale by 4", to: [24, 16], filter: "box" },
    { name: "BOX downscale by 2 and 4", to: [48, 16], filter: "box" },
    { name: "BILINEAR upscale by 2.5", to: [240, 160], filter: "bilinear" },
    { name: "BILINEAR upscale to 131x97", to: [131, 97], filter: "bilinear" },
  ] as const;

  beforeAll(() => {
    const dir = scratch.path;
    const raw = writeTemp(dir, "source.raw", source.data);
    runPillow(
      jobs.map((j, i) => ({
        op: "resize",
        raw,
        width: source.width,
        height: source.height,
        to_width: j.to[0],
        to_height: j.to[1],
        filter: j.filter,
        out: `${dir}/out${i}.raw`,
      })),
    );
  });

  for (const [i, j] of jobs.entries()) {
    it(`agrees with Pillow's ${j.name} within one level`, () => {
      const ours = resizeRgb(source, j.to[0], j.to[1]);
      // Pillow rounds to 8 bits between its horizontal and vertical passes; we do not.
      expect(
        maxDiff(ours, readRaw(`${scratch.path}/out${i}.raw`, j.to[0], j.to[1])),
      ).toBeLessThanOrEqual(1);
    });
  }
});
