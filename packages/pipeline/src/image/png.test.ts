import { readFileSync } from "node:fs";
import { deflateSync, inflateSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { crc32 } from "./crc32.ts";
import { ImageCodecError } from "./errors.ts";
import { decodePng, encodePng } from "./png.ts";
import {
  maxDiff,
  noiseImage,
  pillowAvailable,
  readRaw,
  runPillow,
  scratchDir,
  testImage,
  writeTemp,
} from "./test-support/independent.ts";
import type { RgbImage } from "./types.ts";

/** Chunks of a PNG as [type, data, offset]: a minimal walker written for the tests. */
function chunks(png: Uint8Array): [string, Uint8Array, number][] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: [string, Uint8Array, number][] = [];
  for (let p = 8; p < png.length; ) {
    const length = view.getUint32(p);
    const type = String.fromCharCode(...png.subarray(p + 4, p + 8));
    out.push([type, png.subarray(p + 8, p + 8 + length), p]);
    p += 12 + length;
  }
  return out;
}

/** Builds a PNG from raw (already filtered) scanlines, for hand-made corrupt files. */
function pngFromScanlines(width: number, height: number, scanlines: Uint8Array): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(Buffer.from(type, "latin1"), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(scanlines)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

describe("encodePng and decodePng", () => {
  it("round-trip RGB pixels exactly at sizes from 1x1 to 257x129", () => {
    for (const [w, h] of [
      [1, 1],
      [3, 1],
      [1, 5],
      [64, 64],
      [257, 129],
    ] as const) {
      for (const img of [testImage(w, h), noiseImage(w, h)]) {
        const back = decodePng(encodePng(img));
        expect([back.width, back.height]).toEqual([w, h]);
        expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
      }
    }
  });

  it("filters a ramp's first row with Sub and identical rows below it with Up", () => {
    const width = 20;
    const data = new Uint8Array(width * 4 * 3);
    for (let y = 0; y < 4; y++) for (let i = 0; i < width * 3; i++) data[y * width * 3 + i] = i;
    const png = encodePng({ width, height: 4, data });
    const idat = chunks(png).find(([type]) => type === "IDAT")![1];
    const raw = inflateSync(idat);
    const filterBytes = [0, 1, 2, 3].map((y) => raw[y * (width * 3 + 1)]);
    expect(filterBytes).toEqual([1, 2, 2, 2]);
  });

  it("writes Latin-1 text as tEXt, other text as iTXt, and reads both back", () => {
    const text = { parameters: "a café, 20 steps", Comment: "日本語 🎨", Empty: "" };
    const png = encodePng(testImage(8, 8), text);
    const types = chunks(png).map(([type, data]) => [
      type,
      Buffer.from(data).toString("latin1").split("\0")[0],
    ]);
    expect(types).toContainEqual(["tEXt", "parameters"]);
    expect(types).toContainEqual(["iTXt", "Comment"]);
    expect(types).toContainEqual(["tEXt", "Empty"]);
    // Text chunks come before the image data.
    const order = chunks(png).map(([type]) => type);
    expect(order.indexOf("iTXt")).toBeLessThan(order.indexOf("IDAT"));
    expect(decodePng(png).text).toEqual(text);
  });

  it("rejects text keys that PNG does not allow", () => {
    const img = testImage(2, 2);
    expect(() => encodePng(img, { "": "x" })).toThrow(/key must be 1-79 characters/);
    expect(() => encodePng(img, { ["k".repeat(80)]: "x" })).toThrow(/key must be 1-79 characters/);
    expect(() => encodePng(img, { " lead": "x" })).toThrow(
      /leading, trailing or consecutive spaces/,
    );
    expect(() => encodePng(img, { 日本: "x" })).toThrow(/printable Latin-1/);
    expect(() => encodePng(img, { key: "a\0b" })).toThrow(/contains a NUL character/);
  });

  it("rejects images whose data does not match their size", () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(11) })).toThrow(
      "encodePng: data must hold width*height*3 = 12 bytes for 2x2 RGB, got 11",
    );
    expect(() => encodePng({ width: 0, height: 2, data: new Uint8Array(0) })).toThrow(
      "encodePng: width must be a positive integer, got 0",
    );
  });
});

describe("decodePng on corrupt input", () => {
  const png = encodePng(testImage(16, 16));
  const idatOffset = chunks(png).find(([type]) => type === "IDAT")![2];

  it("names the chunk whose CRC does not match", () => {
    const bad = png.slice();
    bad[idatOffset + 8 + 5]! ^= 0xff;
    expect(() => decodePng(bad)).toThrow(
      new RegExp(`^PNG IDAT CRC mismatch at byte ${idatOffset} `),
    );
    expect(() => decodePng(bad)).toThrow(ImageCodecError);
  });

  it("reports the byte where a truncated file ends", () => {
    const cut = png.slice(0, idatOffset + 20);
    expect(() => decodePng(cut)).toThrow(
      `PNG truncated at byte ${idatOffset + 20}: IDAT chunk at byte ${idatOffset} needs`,
    );
    expect(() => decodePng(png.slice(0, png.length - 12))).toThrow(
      /PNG truncated at byte \d+: expected a chunk header/,
    );
    expect(() => decodePng(png.slice(0, 5))).toThrow(
      "PNG truncated at byte 5: the signature needs 8 bytes",
    );
  });

  it("rejects a wrong signature, an invalid filter type and a corrupt zlib stream", () => {
    expect(() => decodePng(new Uint8Array(20))).toThrow(
      "Not a PNG: the 8-byte signature does not match",
    );
    const badFilter = pngFromScanlines(1, 2, new Uint8Array([0, 1, 2, 3, 7, 4, 5, 6]));
    expect(() => decodePng(badFilter)).toThrow("PNG row 1 has invalid filter type 7");
    const short = pngFromScanlines(2, 2, new Uint8Array(7));
    expect(() => decodePng(short)).toThrow("PNG IDAT data is 7 bytes after inflating, expected 14");
    const garbage = png.slice();
    // Replace the zlib stream with garbage but keep the CRC valid, so only inflate can object.
    const idat = chunks(garbage).find(([type]) => type === "IDAT")!;
    idat[1].fill(0x55);
    new DataView(garbage.buffer).setUint32(
      idatOffset + 8 + idat[1].length,
      crc32(garbage, idatOffset + 4, idatOffset + 8 + idat[1].length),
    );
    expect(() => decodePng(garbage)).toThrow(/^PNG IDAT zlib stream is corrupt or truncated/);
  });

  it("refuses images over the pixel limit before allocating them", () => {
    expect(() => decodePng(png, { maxPixels: 255 })).toThrow(
      "PNG image is 16x16 = 256 pixels, over the limit of 255 (raise maxPixels to decode it)",
    );
  });
});

describe.skipIf(!pillowAvailable())("decodePng against Pillow", () => {
  const scratch = scratchDir();
  const source = testImage(61, 37);
  const pillowModes = [
    { name: "RGB", mode: "RGB", params: {} },
    { name: "RGB optimized", mode: "RGB", params: { optimize: true } },
    { name: "RGBA", mode: "RGBA", params: {} },
    { name: "greyscale", mode: "L", params: {} },
    { name: "greyscale+alpha", mode: "LA", params: {} },
    { name: "1-bit", mode: "1", params: {} },
    { name: "palette", mode: "P", params: {} },
    { name: "4-bit palette with tRNS", mode: "P", params: { bits: 4 }, transparency: 3 },
    { name: "16-bit greyscale", mode: "I;16", params: {} },
  ];
  const manual = [
    { name: "Adam7 16-bit RGB", color_type: 2, bit_depth: 16, interlace: true },
    {
      name: "Adam7 2-bit greyscale with tRNS",
      color_type: 0,
      bit_depth: 2,
      interlace: true,
      trns: true,
    },
    { name: "16-bit RGBA", color_type: 6, bit_depth: 16 },
    { name: "Adam7 8-bit greyscale+alpha", color_type: 4, bit_depth: 8, interlace: true },
    { name: "8-bit RGB with tRNS", color_type: 2, bit_depth: 8, trns: true },
    {
      name: "Adam7 1x1 1-bit greyscale",
      color_type: 0,
      bit_depth: 1,
      interlace: true,
      width: 1,
      height: 1,
    },
    { name: "4-bit greyscale, odd width", color_type: 0, bit_depth: 4, width: 37, height: 5 },
  ];
  let results: Record<string, unknown>[] = [];
  const ours = encodePng(source, { parameters: "Steps: 20, Seed: 42", Title: "ünïcödé ✓" });

  beforeAll(() => {
    const dir = scratch.path;
    const sourcePath = writeTemp(dir, "source.raw", source.data);
    const oursPath = writeTemp(dir, "ours.png", ours);
    results = runPillow([
      { op: "decode", path: oursPath, out: `${dir}/ours.raw` },
      ...pillowModes.map((m, i) => ({
        op: "encode",
        raw: sourcePath,
        width: source.width,
        height: source.height,
        path: `${dir}/pillow${i}.png`,
        format: "PNG",
        mode: m.mode,
        params: m.params,
        ...(m.transparency === undefined ? {} : { transparency: m.transparency }),
      })),
      ...pillowModes.map((_, i) => ({
        op: "decode",
        path: `${dir}/pillow${i}.png`,
        out: `${dir}/pillow${i}.raw`,
        composite: true,
      })),
      ...manual.map((m, i) => ({
        op: "png_manual",
        path: `${dir}/manual${i}.png`,
        out: `${dir}/manual${i}.raw`,
        width: 13,
        height: 11,
        seed: i,
        ...m,
      })),
    ]);
  });

  it("Pillow reads our PNG as the exact source pixels and sees its text chunks", () => {
    expect(results[0]).toMatchObject({ mode: "RGB", width: 61, height: 37 });
    expect((results[0] as { text: unknown }).text).toEqual({
      parameters: "Steps: 20, Seed: 42",
      Title: "ünïcödé ✓",
    });
    expect(maxDiff(readRaw(`${scratch.path}/ours.raw`, 61, 37), source)).toBe(0);
  });

  for (const [i, m] of pillowModes.entries()) {
    it(`decodes Pillow's ${m.name} PNG exactly as Pillow does (alpha over white)`, () => {
      const img = decodePng(new Uint8Array(readFileSync(`${scratch.path}/pillow${i}.png`)));
      let expected = readRaw(`${scratch.path}/pillow${i}.raw`, source.width, source.height);
      if (m.mode === "I;16") {
        // Pillow clips I;16 to 8 bits instead of scaling; the file holds red * 257, which must
        // come back as red in every channel.
        const grey = expected.data.map((_, j) => source.data[j - (j % 3)]!);
        expected = { ...expected, data: grey };
      }
      expect(maxDiff(img, expected)).toBe(0);
    });
  }

  for (const [i, m] of manual.entries()) {
    it(`decodes a hand-built ${m.name} PNG to the pixels the spec implies`, () => {
      const info = results[1 + 2 * pillowModes.length + i] as { pillow_agrees: boolean | null };
      // The hand-built file must itself be right: Pillow reads it as the same picture.
      expect(info.pillow_agrees).not.toBe(false);
      const img: RgbImage = decodePng(
        new Uint8Array(readFileSync(`${scratch.path}/manual${i}.png`)),
      );
      const w = m.width ?? 13;
      const h = m.height ?? 11;
      expect([img.width, img.height]).toEqual([w, h]);
      expect(maxDiff(img, readRaw(`${scratch.path}/manual${i}.raw`, w, h))).toBe(0);
    });
  }
});
