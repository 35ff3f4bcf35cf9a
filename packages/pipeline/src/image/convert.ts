import { ImageCodecError } from "./errors.ts";
import { assertRgbImage, type RgbImage } from "./types.ts";

const f32 = Math.fround;

/** numpy's `round`: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Turns image `index` of a float NCHW batch (the VAE decoder's output, values nominally in [-1, 1])
 * into 8-bit RGB exactly as diffusers does: `(x / 2 + 0.5).clamp(0, 1)`, then numpy_to_pil's
 * `(x * 255).round().astype("uint8")`, every step in float32 and numpy's round-half-to-even. So
 * -1 -> 0, 1 -> 255, 0 -> 128 (127.5 rounds to even).
 *
 * @example
 * const img = fromFloatNCHW(decoded.data, [2, 3, 512, 512], 1);
 */
export function fromFloatNCHW(data: Float32Array, dims: readonly number[], index = 0): RgbImage {
  if (dims.length !== 4 || dims[1] !== 3) {
    throw new ImageCodecError(`fromFloatNCHW: dims must be [n, 3, h, w], got [${dims.join(", ")}]`);
  }
  const [n, , height, width] = dims as readonly [number, number, number, number];
  if (data.length !== n * 3 * height * width) {
    throw new ImageCodecError(
      `fromFloatNCHW: data has ${data.length} values but dims [${dims.join(", ")}] need ${n * 3 * height * width}`,
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new ImageCodecError(
      `fromFloatNCHW: index must be an integer in [0, ${n - 1}], got ${index}`,
    );
  }
  const plane = width * height;
  const base = index * 3 * plane;
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const from = base + c * plane;
    for (let i = 0; i < plane; i++) {
      // float32 at each step, as torch/numpy compute it. NaN becomes 0, as numpy's uint8 cast gives.
      const x = f32(f32(data[from + i]! / 2) + 0.5);
      const v = Number.isNaN(x) ? 0 : Math.min(1, Math.max(0, x));
      out[i * 3 + c] = roundHalfEven(f32(v * 255));
    }
  }
  return { width, height, data: out };
}

/**
 * Turns RGB into a `[1, 3, h, w]` float32 tensor in [-1, 1], as diffusers' image processor does for
 * img2img and inpainting inputs: `x / 255` in float32, then `2 * x - 1`. So 0 -> -1, 255 -> 1.
 *
 * @example
 * const pixels = toFloatNCHW(resizeRgb(input, 512, 512)); // dims [1, 3, 512, 512]
 */
export function toFloatNCHW(img: RgbImage): Float32Array {
  assertRgbImage(img, "toFloatNCHW");
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = f32(2 * f32(v / 255) - 1);
  const plane = img.width * img.height;
  const out = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    out[i] = lut[img.data[i * 3]!]!;
    out[plane + i] = lut[img.data[i * 3 + 1]!]!;
    out[2 * plane + i] = lut[img.data[i * 3 + 2]!]!;
  }
  return out;
}
