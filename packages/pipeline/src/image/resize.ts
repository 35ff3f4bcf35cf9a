import { clampByte } from "./clamp.ts";
import { ImageCodecError } from "./errors.ts";
import { assertRgbImage, type RgbImage } from "./types.ts";

/** Contributions of source pixels to each output pixel along one axis. */
interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  /** `count[i]` weights for output i, packed one after another from `offset[i]`. */
  offset: Int32Array;
  weights: Float64Array;
}

/**
 * Weights along one axis: exact area averaging (fractional coverage of each source pixel) when
 * shrinking, bilinear interpolation between pixel centres (half-pixel aligned, edges clamped) when
 * enlarging, identity when the size is unchanged.
 */
function axisWeights(src: number, dst: number): AxisWeights {
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const offset = new Int32Array(dst);
  const weights: number[] = [];
  const scale = src / dst;
  for (let i = 0; i < dst; i++) {
    offset[i] = weights.length;
    if (dst < src) {
      const lo = i * scale;
      const hi = (i + 1) * scale;
      const first = Math.floor(lo);
      const last = Math.min(src - 1, Math.ceil(hi) - 1);
      start[i] = first;
      count[i] = last - first + 1;
      for (let j = first; j <= last; j++)
        weights.push((Math.min(hi, j + 1) - Math.max(lo, j)) / scale);
    } else {
      const centre = Math.min(src - 1, Math.max(0, (i + 0.5) * scale - 0.5));
      const j0 = Math.floor(centre);
      const f = centre - j0;
      start[i] = j0;
      if (f === 0 || j0 + 1 >= src) {
        count[i] = 1;
        weights.push(1);
      } else {
        count[i] = 2;
        weights.push(1 - f, f);
      }
    }
  }
  return { start, count, offset, weights: Float64Array.from(weights) };
}

/**
 * Resizes an RGB image: area-average when shrinking an axis (no aliasing, every source pixel counts
 * in proportion to its coverage), bilinear when enlarging (pixel centres aligned, like Pillow's
 * BILINEAR and PyTorch's `align_corners=False`). Axes are handled separately, so one can shrink
 * while the other grows. Results are rounded half up and clamped to [0, 255].
 *
 * @example
 * const input = resizeRgb(upload, 512, 512); // img2img input at the model's size
 */
export function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  assertRgbImage(img, "resizeRgb");
  for (const [name, v] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 65535) {
      throw new ImageCodecError(`resizeRgb: ${name} must be an integer in [1, 65535], got ${v}`);
    }
  }
  if (width === img.width && height === img.height) {
    return { width, height, data: img.data.slice() };
  }
  const xw = axisWeights(img.width, width);
  const yw = axisWeights(img.height, height);
  const src = img.data;
  // Horizontal pass into a float buffer (no intermediate rounding), then vertical.
  const mid = new Float32Array(img.height * width * 3);
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width * 3;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      const o = xw.offset[x]!;
      for (let k = 0; k < xw.count[x]!; k++) {
        const w = xw.weights[o + k]!;
        const s = row + (xw.start[x]! + k) * 3;
        r += w * src[s]!;
        g += w * src[s + 1]!;
        b += w * src[s + 2]!;
      }
      const m = (y * width + x) * 3;
      mid[m] = r;
      mid[m + 1] = g;
      mid[m + 2] = b;
    }
  }
  const out = new Uint8Array(width * height * 3);
  const stride = width * 3;
  for (let y = 0; y < height; y++) {
    const o = yw.offset[y]!;
    for (let i = 0; i < stride; i++) {
      let v = 0;
      for (let k = 0; k < yw.count[y]!; k++)
        v += yw.weights[o + k]! * mid[(yw.start[y]! + k) * stride + i]!;
      const r = Math.round(v);
      out[y * stride + i] = clampByte(r);
    }
  }
  return { width, height, data: out };
}
