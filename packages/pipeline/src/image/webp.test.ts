import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  dwebpAvailable,
  dwebpDecode,
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
import { decodeWebp, encodeWebp } from "./webp.ts";

/** Images that exercise the encoder's paths: flat areas (LZ77 runs), noise (long codes), edges. */
function cases(): [string, RgbImage][] {
  const flat: RgbImage = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).fill(200) };
  const stripes: RgbImage = {
    width: 50,
    height: 20,
    data: Uint8Array.from({ length: 50 * 20 * 3 }, (_, i) =>
      Math.floor(i / 3) % 50 < 25 ? 10 : 240,
    ),
  };
  return [
    ["1x1", { width: 1, height: 1, data: new Uint8Array([255, 0, 128]) }],
    ["single row", testImage(97, 1)],
    ["single column", testImage(1, 53)],
    ["flat colour", flat],
    ["vertical stripes", stripes],
    ["generated-like 131x67", testImage(131, 67)],
    ["noise 64x64", noiseImage(64, 64)],
  ];
}

describe("encodeWebp", () => {
  it("writes a RIFF/WEBP/VP8L container with the right sizes and header", () => {
    const webp = encodeWebp(testImage(300, 200));
    const view = new DataView(webp.buffer, webp.byteOffset, webp.byteLength);
    const ascii = (at: number) => String.fromCharCode(...webp.subarray(at, at + 4));
    expect([ascii(0), ascii(8), ascii(12)]).toEqual(["RIFF", "WEBP", "VP8L"]);
    expect(view.getUint32(4, true)).toBe(webp.length - 8);
    const chunkSize = view.getUint32(16, true);
    expect(webp.length).toBe(20 + chunkSize + (chunkSize & 1));
    expect(webp[20]).toBe(0x2f);
    // 14 bits width - 1, then 14 bits height - 1, least significant bit first.
    const bits = view.getUint32(21, true);
    expect((bits & 0x3fff) + 1).toBe(300);
    expect(((bits >>> 14) & 0x3fff) + 1).toBe(200);
  });

  it("round-trips every test image exactly through decodeWebp", () => {
    for (const [, img] of cases()) {
      const back = decodeWebp(encodeWebp(img));
      expect([back.width, back.height]).toEqual([img.width, img.height]);
      expect(maxDiff(back, img)).toBe(0);
    }
  });

  it("compresses flat areas far below raw size", () => {
    const [, flat] = cases()[3]!;
    expect(encodeWebp(flat).length).toBeLessThan(100);
    expect(encodeWebp(testImage(256, 256)).length).toBeLessThan(256 * 256 * 3 * 0.6);
  });

  it("rejects images wider or taller than 16384 pixels", () => {
    const img = { width: 16385, height: 1, data: new Uint8Array(16385 * 3) };
    expect(() => encodeWebp(img)).toThrow(
      "encodeWebp: width and height must be at most 16384, got 16385x1",
    );
  });
});

describe("decodeWebp on corrupt or unsupported input", () => {
  const webp = encodeWebp(testImage(40, 40));

  it("says lossy and animated WebP are not supported", () => {
    const lossy = Buffer.concat([
      Buffer.from("RIFF\x0c\x00\x00\x00WEBPVP8 \x00\x00\x00\x00", "latin1"),
    ]);
    expect(() => decodeWebp(lossy)).toThrow(
      "WebP lossy (VP8) decoding is not supported; only lossless (VP8L)",
    );
    const animated = Buffer.from(
      "RIFF\x1e\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00ANIM\x00\x00\x00\x00",
      "latin1",
    );
    expect(() => decodeWebp(animated)).toThrow("Animated WebP is not supported");
    const flaggedOnly = animated.subarray(0, 30);
    expect(() => decodeWebp(flaggedOnly)).toThrow("Animated WebP is not supported");
  });

  it("reports truncation of the container and of the bitstream", () => {
    expect(() => decodeWebp(webp.slice(0, webp.length - 10))).toThrow(
      new RegExp(`^WebP truncated at byte ${webp.length - 10}: VP8L chunk at byte 12 needs`),
    );
    // Shrink the chunk itself consistently, so only the bitstream runs out.
    const cut = webp.slice(0, 20 + 60);
    new DataView(cut.buffer).setUint32(4, cut.length - 8, true);
    new DataView(cut.buffer).setUint32(16, 60, true);
    expect(() => decodeWebp(cut)).toThrow("WebP truncated at byte 60 of the VP8L data");
  });

  it("rejects data without the RIFF/WEBP header", () => {
    expect(() => decodeWebp(new Uint8Array(30))).toThrow("Not a WebP: missing RIFF....WEBP header");
  });
});

describe.skipIf(!dwebpAvailable())("encodeWebp against dwebp (libwebp)", () => {
  const scratch = scratchDir();
  for (const [name, img] of cases()) {
    it(`dwebp decodes the ${name} image to exactly the source pixels`, () => {
      const file = writeTemp(scratch.path, `${name.replace(/\W+/g, "-")}.webp`, encodeWebp(img));
      const decoded = dwebpDecode(file);
      expect([decoded.width, decoded.height]).toEqual([img.width, img.height]);
      expect(maxDiff(decoded, img)).toBe(0);
    });
  }
});

describe.skipIf(!pillowAvailable())("WebP against Pillow (libwebp)", () => {
  const scratch = scratchDir();
  const source = testImage(117, 71);
  const ours = cases().map(([name, img]) => ({ name, img, path: "" }));
  const variants = [
    { name: "method 0", params: { lossless: true, method: 0 } },
    { name: "method 4", params: { lossless: true, method: 4 } },
    { name: "method 6, quality 100", params: { lossless: true, method: 6, quality: 100 } },
    { name: "12-colour palette", mode: "P", colors: 12, params: { lossless: true } },
    { name: "3-colour palette", mode: "P", colors: 3, params: { lossless: true } },
    { name: "RGBA", mode: "RGBA", params: { lossless: true, exact: true } },
  ];

  beforeAll(() => {
    const dir = scratch.path;
    const sourcePath = writeTemp(dir, "source.raw", source.data);
    for (const o of ours) {
      o.path = writeTemp(dir, `ours-${o.name.replace(/\W+/g, "-")}.webp`, encodeWebp(o.img));
    }
    runPillow([
      ...ours.map((o) => ({ op: "decode", path: o.path, out: `${o.path}.raw` })),
      ...variants.map((v, i) => ({
        op: "encode",
        raw: sourcePath,
        width: source.width,
        height: source.height,
        path: `${dir}/pillow${i}.webp`,
        format: "WEBP",
        mode: v.mode ?? "RGB",
        ...(v.colors === undefined ? {} : { colors: v.colors }),
        params: v.params,
      })),
      ...variants.map((_, i) => ({
        op: "decode",
        path: `${dir}/pillow${i}.webp`,
        out: `${dir}/pillow${i}.raw`,
        composite: true,
      })),
    ]);
  });

  it("Pillow decodes every one of our WebP files to exactly the source pixels", () => {
    for (const o of ours) {
      expect(maxDiff(readRaw(`${o.path}.raw`, o.img.width, o.img.height), o.img)).toBe(0);
    }
  });

  for (const [i, v] of variants.entries()) {
    it(`decodes libwebp's lossless ${v.name} file exactly as Pillow does`, () => {
      const ours = decodeWebp(new Uint8Array(readFileSync(`${scratch.path}/pillow${i}.webp`)));
      expect(
        maxDiff(ours, readRaw(`${scratch.path}/pillow${i}.raw`, source.width, source.height)),
      ).toBe(0);
    });
  }
});
