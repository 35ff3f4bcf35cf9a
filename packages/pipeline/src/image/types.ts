import { ImageCodecError } from "./errors.ts";

/**
 * An 8-bit RGB image: `data` holds `width * height * 3` bytes, row-major, R G B per pixel, no padding
 * between rows. This is what every decoder returns and every encoder takes.
 */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The formats `encodeImage` can write. */
export type ImageFormat = "png" | "jpeg" | "webp";

/**
 * Throws an `ImageCodecError` unless `img` has positive integer dimensions and exactly
 * `width * height * 3` bytes of data. `operation` prefixes the message (e.g. `"encodePng"`).
 */
export function assertRgbImage(img: RgbImage, operation: string): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || width < 1) {
    throw new ImageCodecError(`${operation}: width must be a positive integer, got ${width}`);
  }
  if (!Number.isInteger(height) || height < 1) {
    throw new ImageCodecError(`${operation}: height must be a positive integer, got ${height}`);
  }
  if (!(data instanceof Uint8Array)) {
    throw new ImageCodecError(`${operation}: data must be a Uint8Array`);
  }
  if (data.length !== width * height * 3) {
    throw new ImageCodecError(
      `${operation}: data must hold width*height*3 = ${width * height * 3} bytes for ` +
        `${width}x${height} RGB, got ${data.length}`,
    );
  }
}

/**
 * Throws an `ImageCodecError` when a decoded image would exceed `maxPixels`; decoders call it before
 * allocating so that a tiny file claiming 60000x60000 pixels cannot exhaust memory.
 */
export function assertPixelLimit(
  codec: string,
  width: number,
  height: number,
  maxPixels: number,
): void {
  if (width * height > maxPixels) {
    throw new ImageCodecError(
      `${codec} image is ${width}x${height} = ${width * height} pixels, over the limit of ` +
        `${maxPixels} (raise maxPixels to decode it)`,
    );
  }
}

/** Default decode limit: 2^26 pixels (8192x8192), far above any size the pipeline accepts. */
export const DEFAULT_MAX_PIXELS = 2 ** 26;
