import { describe, expect, it } from "vitest";
import {
  decodeImage,
  decodePng,
  encodeImage,
  IMAGE_MIME_TYPES,
  ImageCodecError,
  type ImageFormat,
  sniffImageFormat,
} from "./index.ts";
import { maxDiff, psnr, testImage } from "./test-support/independent.ts";

describe("encodeImage and decodeImage", () => {
  const img = testImage(40, 24);

  it("round-trip each format, sniffing it from the bytes", () => {
    for (const format of ["png", "jpeg", "webp"] as const satisfies readonly ImageFormat[]) {
      const bytes = encodeImage(img, format, { quality: 95 });
      expect(sniffImageFormat(bytes)).toBe(format);
      const back = decodeImage(bytes);
      expect(back.format).toBe(format);
      if (format === "jpeg") expect(psnr(back, img)).toBeGreaterThan(25);
      else expect(maxDiff(back, img)).toBe(0);
    }
  });

  it("writes text as PNG chunks and as a JPEG comment", () => {
    const text = { parameters: "a cat\nSteps: 20", seed: "1" };
    expect(decodePng(encodeImage(img, "png", { text })).text).toEqual(text);
    const jpeg = encodeImage(img, "jpeg", { text });
    const latin1 = Buffer.from(jpeg).toString("latin1");
    expect(latin1).toContain("\xff\xfe\x00\x11a cat\nSteps: 20");
  });

  it("names unsupported formats and describes unknown bytes", () => {
    expect(() => decodeImage(Buffer.from("GIF89a\x01\x00\x01\x00", "latin1"))).toThrow(
      "decodeImage: GIF images are not supported; use PNG, JPEG or WebP",
    );
    expect(() => decodeImage(new Uint8Array([1, 2, 3]))).toThrow(
      "decodeImage: unrecognised image data (first bytes: 01 02 03); expected PNG, JPEG or WebP",
    );
    expect(() => decodeImage(new Uint8Array(0))).toThrow(ImageCodecError);
  });

  it("passes the pixel limit and alpha policy through to the decoders", () => {
    for (const format of ["png", "jpeg", "webp"] as const) {
      expect(() => decodeImage(encodeImage(img, format), { maxPixels: 100 })).toThrow(
        /over the limit of 100/,
      );
    }
  });

  it("rejects an unknown format name", () => {
    expect(() => encodeImage(img, "gif" as ImageFormat)).toThrow(
      'encodeImage: format must be "png", "jpeg" or "webp", got "gif"',
    );
  });

  it("lists a MIME type per format", () => {
    expect(IMAGE_MIME_TYPES).toEqual({ png: "image/png", jpeg: "image/jpeg", webp: "image/webp" });
  });
});
