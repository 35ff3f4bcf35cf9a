/**
 * Image codecs and helpers for the pipeline, the inference service and the Shapes evaluator:
 * PNG (with generation metadata), JPEG, lossless WebP, resizing, and the float tensor <-> RGB
 * conversions diffusers uses. Pure TypeScript on node:zlib; no native image library.
 */
import { ImageCodecError } from "./errors.ts";
import { decodeJpeg, encodeJpeg } from "./jpeg.ts";
import { decodePng, encodePng } from "./png.ts";
import { DEFAULT_MAX_PIXELS, type ImageFormat, type RgbImage } from "./types.ts";
import { decodeWebp, encodeWebp } from "./webp.ts";

export { fromFloatNCHW, toFloatNCHW } from "./convert.ts";
export { ImageCodecError } from "./errors.ts";
export { decodeJpeg, encodeJpeg, type JpegDecodeOptions, type JpegEncodeOptions } from "./jpeg.ts";
export { formatParameters, type GenerationParameters, parametersText } from "./parameters.ts";
export {
  type DecodedPng,
  decodePng,
  encodePng,
  type PngDecodeOptions,
  type PngEncodeOptions,
} from "./png.ts";
export { resizeRgb } from "./resize.ts";
export type { ImageFormat, RgbImage } from "./types.ts";
export { decodeWebp, encodeWebp, type WebpDecodeOptions } from "./webp.ts";

/** MIME type of each format, for HTTP responses and object-store metadata. */
export const IMAGE_MIME_TYPES: Readonly<Record<ImageFormat, string>> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
};

/** Options of `encodeImage`. */
export interface EncodeImageOptions {
  /**
   * Metadata. PNG: one tEXt/iTXt chunk per entry. JPEG: one COM segment holding `parameters` when
   * present, else `key: value` lines. WebP: not written (the simple VP8L container has no text).
   */
  text?: Record<string, string>;
  /** JPEG quality, 1-100 (default 90); ignored by the lossless formats. */
  quality?: number;
}

/**
 * Encodes RGB as PNG, JPEG or lossless WebP.
 *
 * @example
 * const bytes = encodeImage(img, "png", { text: parametersText(params) });
 */
export function encodeImage(
  img: RgbImage,
  format: ImageFormat,
  options: EncodeImageOptions = {},
): Uint8Array {
  const { text, quality } = options;
  switch (format) {
    case "png":
      return encodePng(img, text);
    case "jpeg": {
      const entries = Object.entries(text ?? {});
      const comment =
        text?.["parameters"] ??
        (entries.length > 0 ? entries.map(([k, v]) => `${k}: ${v}`).join("\n") : undefined);
      return encodeJpeg(img, quality, comment === undefined ? {} : { comment });
    }
    case "webp":
      return encodeWebp(img);
    default:
      throw new ImageCodecError(
        `encodeImage: format must be "png", "jpeg" or "webp", got ${JSON.stringify(format)}`,
      );
  }
}

/** Options of `decodeImage`, passed to the format's decoder. */
export interface DecodeImageOptions {
  /** Transparency in PNG and WebP: composited `"over-white"` (default) or dropped (`"drop"`). */
  alpha?: "over-white" | "drop";
  /** Refuse images with more pixels than this before allocating. Default 2^26 (8192x8192). */
  maxPixels?: number;
}

/** A decoded image and the format its bytes were in. */
export interface DecodedImage extends RgbImage {
  format: ImageFormat;
}

/** The format of encoded bytes by their magic numbers, or undefined when not PNG, JPEG or WebP. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && ascii(bytes, 8, 4) === "WEBP") return "webp";
  return undefined;
}

/** Formats we can name in an error even though we do not decode them. */
const OTHER_FORMATS: [string, (b: Uint8Array) => boolean][] = [
  ["GIF", (b) => ascii(b, 0, 4) === "GIF8"],
  ["BMP", (b) => ascii(b, 0, 2) === "BM"],
  ["TIFF", (b) => ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*"],
  ["AVIF/HEIF", (b) => ascii(b, 4, 4) === "ftyp"],
  ["JPEG XL", (b) => startsWith(b, [0xff, 0x0a]) || ascii(b, 4, 4) === "JXL "],
];

/**
 * Decodes PNG, JPEG or WebP (lossless; lossy WebP throws saying so), chosen by the magic bytes,
 * to 8-bit RGB. Unknown or unsupported formats throw an `ImageCodecError` naming what was found.
 *
 * @example
 * const { format, width, height } = decodeImage(await readFile(path));
 */
export function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): DecodedImage {
  const { alpha = "over-white", maxPixels = DEFAULT_MAX_PIXELS } = options;
  const format = sniffImageFormat(bytes);
  switch (format) {
    case "png": {
      const { width, height, data } = decodePng(bytes, { alpha, maxPixels });
      return { width, height, data, format };
    }
    case "jpeg":
      return { ...decodeJpeg(bytes, { maxPixels }), format };
    case "webp":
      return { ...decodeWebp(bytes, { alpha, maxPixels }), format };
    default: {
      const other = OTHER_FORMATS.find(([, test]) => test(bytes))?.[0];
      const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(
        " ",
      );
      throw new ImageCodecError(
        other === undefined
          ? `decodeImage: unrecognised image data (first bytes: ${head || "none"}); expected PNG, JPEG or WebP`
          : `decodeImage: ${other} images are not supported; use PNG, JPEG or WebP`,
      );
    }
  }
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  if (bytes.length < start + length) return "";
  return String.fromCharCode(...bytes.subarray(start, start + length));
}
