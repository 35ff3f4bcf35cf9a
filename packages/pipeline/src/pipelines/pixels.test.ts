import { describe, expect, it } from "vitest";
import type { RgbImage } from "../image/types.ts";
import { decodedToRgb, latentMask, luma, maskedImageTensor, rgbToSignedTensor } from "./pixels.ts";

function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(rgb, p * 3);
  return { width, height, data };
}

describe("decodedToRgb", () => {
  it("maps [-1, 1] to bytes with clipping and numpy's round-half-to-even", () => {
    // One pixel per value, as [1, 3, 1, 5] planes (R, G, B identical).
    const values = [-1, 1, 0, 2, -0.2];
    const data = new Float32Array([...values, ...values, ...values]);
    const img = decodedToRgb(data, [1, 3, 1, 5], 0);
    // 0 -> 127.5 -> 128 (even); -0.2 -> 0.4 * 255 = 102.
    expect(Array.from(img.data.filter((_, i) => i % 3 === 0))).toEqual([0, 255, 128, 255, 102]);
    expect(img).toMatchObject({ width: 5, height: 1 });
  });
});

describe("rgbToSignedTensor", () => {
  it("maps bytes to [-1, 1] planes", () => {
    const out = rgbToSignedTensor({ width: 1, height: 1, data: new Uint8Array([0, 255, 128]) });
    expect(Array.from(out)).toEqual([
      -1,
      1,
      Math.fround(Math.fround(2 * Math.fround(128 / 255)) - 1),
    ]);
  });
});

describe("luma", () => {
  it("matches Pillow's RGB -> L conversion", () => {
    expect(luma(255, 255, 255)).toBe(255);
    expect(luma(0, 0, 0)).toBe(0);
    expect(luma(255, 0, 0)).toBe(76);
    expect(luma(0, 255, 0)).toBe(150);
    expect(luma(0, 0, 255)).toBe(29);
    expect(luma(77, 77, 77)).toBe(77);
  });
});

describe("latentMask", () => {
  it("samples the pixel Pillow's nearest-neighbour resize picks (floor((x + 0.5) * W / w)) and thresholds at 0.5", () => {
    const mask = solid(16, 16, [0, 0, 0]);
    mask.data.set([255, 255, 255], (4 * 16 + 12) * 3); // (x=12, y=4) is the sample of latent (1, 0)
    expect(Array.from(latentMask(mask, 2, 2))).toEqual([0, 1, 0, 0]);
    const neighbour = solid(16, 16, [0, 0, 0]);
    neighbour.data.set([255, 255, 255], (4 * 16 + 11) * 3);
    expect(Array.from(latentMask(neighbour, 2, 2))).toEqual([0, 0, 0, 0]);
    // luma 128 / 255 >= 0.5 repaints, 127 keeps.
    expect(Array.from(latentMask(solid(8, 8, [128, 128, 128]), 1, 1))).toEqual([1]);
    expect(Array.from(latentMask(solid(8, 8, [127, 127, 127]), 1, 1))).toEqual([0]);
  });
});

describe("maskedImageTensor", () => {
  it("keeps pixels whose mask luma is below 127.5 and zeroes the rest", () => {
    const image = { width: 2, height: 1, data: new Uint8Array([255, 255, 255, 0, 0, 0]) };
    const mask = { width: 2, height: 1, data: new Uint8Array([127, 127, 127, 128, 128, 128]) };
    // planes: R = [1, 0], G = [1, 0], B = [1, 0]: the second pixel (repainted) is 0, not -1.
    expect(Array.from(maskedImageTensor(image, mask))).toEqual([1, 0, 1, 0, 1, 0]);
  });
});
