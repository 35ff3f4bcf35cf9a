import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { ImageCodecError } from "./errors.ts";
import { decodeJpeg, encodeJpeg } from "./jpeg.ts";
import { CHROMA_QUANT, LUMA_QUANT, ZIGZAG } from "./jpeg-tables.ts";
import {
  maxDiff,
  meanDiff,
  pillowAvailable,
  psnr,
  readRaw,
  runPillow,
  scratchDir,
  testImage,
  writeTemp,
} from "./test-support/independent.ts";

/** Segments of a JPEG up to SOS as [marker, payload]: a minimal walker written for the tests. */
function segments(jpg: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  for (let p = 2; p < jpg.length; ) {
    const marker = jpg[p + 1]!;
    const length = (jpg[p + 2]! << 8) | jpg[p + 3]!;
    out.push([marker, jpg.subarray(p + 4, p + 2 + length)]);
    if (marker === 0xda) break;
    p += 2 + length;
  }
  return out;
}

/** The DQT tables of a JPEG in natural order, by table id. */
function quantTables(jpg: Uint8Array): Record<number, number[]> {
  const tables: Record<number, number[]> = {};
  for (const [marker, data] of segments(jpg)) {
    if (marker !== 0xdb) continue;
    for (let p = 0; p < data.length; p += 65) {
      const natural = new Array<number>(64);
      for (let k = 0; k < 64; k++) natural[ZIGZAG[k]!] = data[p + 1 + k]!;
      tables[data[p]! & 15] = natural;
    }
  }
  return tables;
}

describe("encodeJpeg", () => {
  const img = testImage(96, 80);

  it("writes the Annex K tables unscaled at quality 50 and all ones at quality 100", () => {
    expect(quantTables(encodeJpeg(img, 50))).toEqual({ 0: [...LUMA_QUANT], 1: [...CHROMA_QUANT] });
    expect(quantTables(encodeJpeg(img, 100))).toEqual({
      0: Array(64).fill(1),
      1: Array(64).fill(1),
    });
    // libjpeg at quality 10: scale 500%, so 16 -> floor((16 * 500 + 50) / 100) = 80, capped at 255.
    const q10 = quantTables(encodeJpeg(img, 10));
    expect(q10[0]![0]).toBe(80);
    expect(q10[1]![63]).toBe(255);
  });

  it("makes files grow and errors shrink as quality rises", () => {
    const qualities = [5, 20, 40, 60, 75, 90, 100];
    const sizes = qualities.map((q) => encodeJpeg(img, q).length);
    const errors = qualities.map((q) => psnr(decodeJpeg(encodeJpeg(img, q)), img));
    for (let i = 1; i < qualities.length; i++) {
      expect(sizes[i]).toBeGreaterThan(sizes[i - 1]!);
      expect(errors[i]).toBeGreaterThan(errors[i - 1]!);
    }
  });

  it("round-trips through decodeJpeg close to the source at odd sizes and both subsamplings", () => {
    for (const [w, h] of [
      [1, 1],
      [17, 9],
      [33, 65],
      [96, 80],
    ] as const) {
      const src = testImage(w, h, 3);
      for (const subsampling of ["4:2:0", "4:4:4"] as const) {
        const back = decodeJpeg(encodeJpeg(src, 95, { subsampling }));
        expect([back.width, back.height]).toEqual([w, h]);
        // Halved chroma costs most on tiny images full of coloured edges (libjpeg: 23.1 dB at 17x9).
        expect(psnr(back, src)).toBeGreaterThan(subsampling === "4:4:4" ? 35 : 22);
      }
    }
  });

  it("rejects qualities outside 1-100 and unknown subsampling", () => {
    expect(() => encodeJpeg(img, 0)).toThrow(
      "encodeJpeg: quality must be an integer in [1, 100], got 0",
    );
    expect(() => encodeJpeg(img, 101)).toThrow(ImageCodecError);
    expect(() => encodeJpeg(img, 50.5)).toThrow(/quality must be an integer/);
    expect(() => encodeJpeg(img, 90, { subsampling: "4:1:1" as "4:2:0" })).toThrow(
      /subsampling must be/,
    );
  });
});

describe("decodeJpeg on corrupt or unsupported input", () => {
  const jpg = encodeJpeg(testImage(64, 48), 80);
  const sofOffset = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);

  it("reports where a truncated file ends and how far decoding got", () => {
    expect(() => decodeJpeg(jpg.slice(0, jpg.length - 400))).toThrow(
      new RegExp(`^JPEG truncated at byte ${jpg.length - 400}: decoded \\d+ of 12 MCUs$`),
    );
    expect(() => decodeJpeg(jpg.slice(0, sofOffset + 6))).toThrow(
      /^JPEG truncated at byte \d+: marker 0xFFC0 segment/,
    );
  });

  it("says which coding modes and precisions it does not support", () => {
    const arithmetic = jpg.slice();
    arithmetic[sofOffset + 1] = 0xc9;
    expect(() => decodeJpeg(arithmetic)).toThrow(
      "JPEG arithmetic-coded sequential (SOF9) is not supported",
    );
    const lossless = jpg.slice();
    lossless[sofOffset + 1] = 0xc3;
    expect(() => decodeJpeg(lossless)).toThrow(/JPEG lossless \(SOF3\) is not supported/);
    const twelveBit = jpg.slice();
    twelveBit[sofOffset + 4] = 12;
    expect(() => decodeJpeg(twelveBit)).toThrow(
      "JPEG with 12-bit samples is not supported; only 8-bit",
    );
  });

  it("rejects data that is not a JPEG", () => {
    expect(() => decodeJpeg(new Uint8Array([0x89, 0x50]))).toThrow(
      "Not a JPEG: missing SOI marker (FF D8) at byte 0",
    );
  });

  it("refuses images over the pixel limit", () => {
    expect(() => decodeJpeg(jpg, { maxPixels: 1000 })).toThrow(
      "JPEG image is 64x48 = 3072 pixels, over the limit of 1000",
    );
  });
});

describe.skipIf(!pillowAvailable())("JPEG against Pillow (libjpeg)", () => {
  const scratch = scratchDir();
  const source = testImage(123, 77);
  const ours420 = encodeJpeg(source, 90, { comment: "Steps: 20, Sampler: Euler a ✓" });
  const ours444 = encodeJpeg(source, 75, { subsampling: "4:4:4" });
  const variants = [
    { name: "baseline 4:2:0", params: { quality: 85 } },
    { name: "baseline 4:4:4", params: { quality: 85, subsampling: 0 } },
    { name: "baseline 4:2:2", params: { quality: 85, subsampling: 1 } },
    { name: "progressive 4:2:0", params: { quality: 85, progressive: true } },
    { name: "progressive 4:4:4", params: { quality: 95, progressive: true, subsampling: 0 } },
    { name: "optimised Huffman tables", params: { quality: 60, optimize: true } },
    { name: "restart markers every 7 blocks", params: { quality: 85, restart_marker_blocks: 7 } },
    { name: "greyscale", mode: "L", params: { quality: 85 } },
    { name: "progressive greyscale", mode: "L", params: { quality: 85, progressive: true } },
    { name: "Adobe CMYK", mode: "CMYK", params: { quality: 95 } },
  ];
  const qualities = [10, 50, 75, 95];
  let results: Record<string, unknown>[] = [];

  beforeAll(() => {
    const dir = scratch.path;
    const sourcePath = writeTemp(dir, "source.raw", source.data);
    writeTemp(dir, "ours420.jpg", ours420);
    writeTemp(dir, "ours444.jpg", ours444);
    results = runPillow([
      { op: "decode", path: `${dir}/ours420.jpg`, out: `${dir}/ours420.raw` },
      { op: "decode", path: `${dir}/ours444.jpg`, out: `${dir}/ours444.raw` },
      ...variants.map((v, i) => ({
        op: "encode",
        raw: sourcePath,
        width: source.width,
        height: source.height,
        path: `${dir}/pillow${i}.jpg`,
        format: "JPEG",
        mode: v.mode ?? "RGB",
        params: v.params,
      })),
      ...variants.map((_, i) => ({
        op: "decode",
        path: `${dir}/pillow${i}.jpg`,
        out: `${dir}/pillow${i}.raw`,
      })),
      ...qualities.map((q) => ({
        op: "encode",
        raw: sourcePath,
        width: source.width,
        height: source.height,
        path: `${dir}/q${q}.jpg`,
        format: "JPEG",
        params: { quality: q },
      })),
      ...qualities.flatMap((q) => [
        { op: "decode", path: `${dir}/q${q}.jpg`, out: `${dir}/q${q}.raw` },
        {
          op: "decode",
          path: writeTemp(dir, `ours-q${q}.jpg`, encodeJpeg(source, q)),
          out: `${dir}/ours-q${q}.raw`,
        },
      ]),
    ]);
  });

  it("Pillow decodes our JPEGs as our own decoder does, comment included", () => {
    for (const [name, bytes] of [
      ["ours420", ours420],
      ["ours444", ours444],
    ] as const) {
      const theirs = readRaw(`${scratch.path}/${name}.raw`, source.width, source.height);
      // Float IDCT and libjpeg's integer IDCT differ by rounding only.
      expect(maxDiff(decodeJpeg(bytes), theirs)).toBeLessThanOrEqual(3);
    }
    expect(results[0]).toMatchObject({
      mode: "RGB",
      width: 123,
      height: 77,
      comment: "Steps: 20, Sampler: Euler a ✓",
    });
  });

  it("matches libjpeg's size and fidelity at the same quality", () => {
    for (const q of qualities) {
      const theirs = readRaw(`${scratch.path}/q${q}.raw`, source.width, source.height);
      const oursDecoded = readRaw(`${scratch.path}/ours-q${q}.raw`, source.width, source.height);
      expect(psnr(oursDecoded, source)).toBeGreaterThan(psnr(theirs, source) - 0.3);
      const ratio = encodeJpeg(source, q).length / readFileSync(`${scratch.path}/q${q}.jpg`).length;
      expect(ratio).toBeGreaterThan(0.9);
      expect(ratio).toBeLessThan(1.1);
    }
  });

  it("scales the quantisation tables exactly like libjpeg at qualities 10, 50, 75 and 95", () => {
    for (const q of qualities) {
      const pillowTables = quantTables(new Uint8Array(readFileSync(`${scratch.path}/q${q}.jpg`)));
      expect(quantTables(encodeJpeg(source, q))).toEqual(pillowTables);
    }
  });

  for (const [i, v] of variants.entries()) {
    it(`decodes Pillow's ${v.name} JPEG within rounding of libjpeg's decode`, () => {
      const ours = decodeJpeg(new Uint8Array(readFileSync(`${scratch.path}/pillow${i}.jpg`)));
      const theirs = readRaw(`${scratch.path}/pillow${i}.raw`, source.width, source.height);
      expect([ours.width, ours.height]).toEqual([source.width, source.height]);
      // Measured: at most 3 levels apart, with over 97% of samples identical.
      expect(maxDiff(ours, theirs)).toBeLessThanOrEqual(3);
      expect(meanDiff(ours, theirs)).toBeLessThan(0.05);
    });
  }
});
