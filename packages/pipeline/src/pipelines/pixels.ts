/**
 * Conversions between RgbImage pixels and the float tensors the VAE takes and returns, written to
 * round the way diffusers' numpy code does (float32 arithmetic, round-half-to-even at the end), so
 * that our bytes equal diffusers' for the same decoder output.
 */
import type { RgbImage } from "../image/types.ts";

const f32 = Math.fround;

/** numpy's `round` (half to even) for values already in [0, 255]. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * VAE output [N, 3, H, W] in [-1, 1] -> 8-bit RGB of image `index`, as diffusers'
 * `np.clip(image / 2 + 0.5, 0, 1)` followed by `numpy_to_pil`'s `(image * 255).round()`.
 */
export function decodedToRgb(data: Float32Array, dims: readonly number[], index: number): RgbImage {
  const [, channels = 0, height = 0, width = 0] = dims;
  if (channels !== 3)
    throw new RangeError(`VAE decoder returned ${channels} channels; expected 3 (RGB)`);
  const plane = height * width;
  const base = index * 3 * plane;
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const src = base + c * plane;
    for (let p = 0; p < plane; p++) {
      const v = Math.min(Math.max(f32(data[src + p]! / 2 + 0.5), 0), 1);
      out[p * 3 + c] = roundHalfEven(f32(v * 255));
    }
  }
  return { width, height, data: out };
}

/**
 * 8-bit RGB -> [1, 3, H, W] in [-1, 1], as diffusers' img2img preprocessing
 * (`astype(float32) / 255.0`, then `2.0 * image - 1.0`). `out` receives the values at `offset`.
 */
export function rgbToSignedTensor(
  img: RgbImage,
  out = new Float32Array(3 * img.width * img.height),
  offset = 0,
): Float32Array {
  const plane = img.width * img.height;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      out[offset + c * plane + p] = f32(f32(2 * f32(img.data[p * 3 + c]! / 255)) - 1);
    }
  }
  return out;
}

/** Pillow's RGB -> L conversion (ITU-R 601-2 luma with its fixed-point rounding). */
export function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/**
 * The masked image of diffusers' ONNX inpainting: image pixels in [-1, 1] (`/ 127.5 - 1`) where
 * the mask's luma is below 127.5 (keep), 0 where it is not (repaint). Returns [1, 3, H, W].
 */
export function maskedImageTensor(image: RgbImage, mask: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    const keep = luma(mask.data[p * 3]!, mask.data[p * 3 + 1]!, mask.data[p * 3 + 2]!) < 127.5;
    for (let c = 0; c < 3; c++) {
      out[c * plane + p] = keep ? f32(f32(image.data[p * 3 + c]! / 127.5) - 1) : 0;
    }
  }
  return out;
}

/**
 * The latent-resolution mask of diffusers' ONNX inpainting: the mask resized to h x w with
 * Pillow's nearest-neighbour rule (source pixel floor((x + 0.5) * W / w)), converted to luma,
 * divided by 255 and thresholded at 0.5. Returns [1, 1, h, w] of 0/1.
 */
export function latentMask(mask: RgbImage, height: number, width: number): Float32Array {
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width));
      const p = (sy * mask.width + sx) * 3;
      const v = f32(luma(mask.data[p]!, mask.data[p + 1]!, mask.data[p + 2]!) / 255);
      out[y * width + x] = v < 0.5 ? 0 : 1;
    }
  }
  return out;
}
