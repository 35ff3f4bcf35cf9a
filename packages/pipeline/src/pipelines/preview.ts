/**
 * Cheap progress previews: a fixed linear map from latent channels to RGB, applied per latent cell,
 * so a preview costs a few multiplies per cell instead of a VAE decode. The picture is blurry and
 * the colours approximate, which is all a progress thumbnail needs.
 *
 * - SD 1.x/2.x (4 latent channels, scaling factor 0.18215): the widely used approximation factors
 *   (a least-squares fit of the SD VAE's output against its latents).
 * - Anything else: a projection fitted at first use by decoding a few random latents with the
 *   model's own VAE decoder and solving least squares against the decoded images pooled to latent
 *   resolution ({@link fitLatentProjection}).
 * - When fitting fails (degenerate decoder output): every channel's mean as gray.
 */
import type { RgbImage } from "../image/types.ts";
import { RandomState } from "../random/numpy.ts";

/**
 * Latent -> RGB projection: `weights[c * 3 + k]` is channel c's contribution to colour k, `bias[k]`
 * the constant term; the result is in [-1, 1] like the VAE's output.
 */
export interface LatentProjection {
  readonly channels: number;
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

/** The well-known SD 1.x latent -> RGB factors (rows: latent channel, columns: R, G, B). */
const SD1_FACTORS = [
  [0.298, 0.207, 0.208],
  [0.187, 0.286, 0.173],
  [-0.158, 0.189, 0.264],
  [-0.184, -0.271, -0.473],
] as const;

/** The SD 1.x projection (valid for 4-channel latents in the UNet's scaled space). */
export function sd1Projection(): LatentProjection {
  return {
    channels: 4,
    weights: Float32Array.from(SD1_FACTORS.flat()),
    bias: new Float32Array(3),
  };
}

/** Channel-mean gray: the fallback when nothing better is known. */
export function grayProjection(channels: number): LatentProjection {
  return {
    channels,
    weights: new Float32Array(channels * 3).fill(1 / channels),
    bias: new Float32Array(3),
  };
}

/**
 * Renders image `index` of a [N, C, h, w] latent batch as a w x h RgbImage through `projection`.
 */
export function projectLatents(
  latents: Float32Array,
  dims: readonly number[],
  index: number,
  projection: LatentProjection,
): RgbImage {
  const [, channels = 0, height = 0, width = 0] = dims;
  const cells = height * width;
  const base = index * channels * cells;
  const out = new Uint8Array(cells * 3);
  const { weights, bias } = projection;
  for (let p = 0; p < cells; p++) {
    let r = bias[0]!;
    let g = bias[1]!;
    let b = bias[2]!;
    for (let c = 0; c < channels; c++) {
      const v = latents[base + c * cells + p]!;
      r += v * weights[c * 3]!;
      g += v * weights[c * 3 + 1]!;
      b += v * weights[c * 3 + 2]!;
    }
    out[p * 3] = toByte(r);
    out[p * 3 + 1] = toByte(g);
    out[p * 3 + 2] = toByte(b);
  }
  return { width, height, data: out };
}

function toByte(v: number): number {
  const x = (v + 1) * 127.5;
  return x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
}

/** Decodes [1, C, h, w] latents (already divided by the scaling factor) to [1, 3, h*f, w*f] in [-1, 1]. */
export type LatentDecoder = (
  latents: Float32Array,
  dims: readonly number[],
) => Promise<Float32Array>;

/**
 * Fits a projection for `channels`-channel latents: decodes `samples` random latents of
 * `side` x `side` cells (seeded, so the fit is reproducible), averages each decoded f x f block and
 * solves the least-squares problem [latent, 1] -> RGB. Falls back to {@link grayProjection} when
 * the normal equations are singular.
 */
export async function fitLatentProjection(
  channels: number,
  scaleFactor: number,
  scalingFactor: number,
  decode: LatentDecoder,
  { samples = 2, side = 8 }: { samples?: number; side?: number } = {},
): Promise<LatentProjection> {
  const n = channels + 1;
  const xtx = new Float64Array(n * n);
  const xty = new Float64Array(n * 3);
  const rng = new RandomState(0);
  const cells = side * side;
  const row = new Float64Array(n);
  for (let s = 0; s < samples; s++) {
    const latents = rng.randn(channels * cells);
    const scaled = new Float32Array(latents.length);
    for (let i = 0; i < latents.length; i++) scaled[i] = latents[i]! / scalingFactor;
    const image = await decode(scaled, [1, channels, side, side]);
    const w = side * scaleFactor;
    const plane = w * w;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const p = y * side + x;
        for (let c = 0; c < channels; c++) row[c] = latents[c * cells + p]!;
        row[channels] = 1;
        for (let k = 0; k < 3; k++) {
          let sum = 0;
          for (let dy = 0; dy < scaleFactor; dy++) {
            for (let dx = 0; dx < scaleFactor; dx++) {
              sum += image[k * plane + (y * scaleFactor + dy) * w + x * scaleFactor + dx] ?? 0;
            }
          }
          const target = sum / (scaleFactor * scaleFactor);
          for (let i = 0; i < n; i++) xty[i * 3 + k]! += row[i]! * target;
        }
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) xtx[i * n + j]! += row[i]! * row[j]!;
        }
      }
    }
  }
  const solution = solveSymmetric(xtx, xty, n, 3);
  if (solution === undefined) return grayProjection(channels);
  return {
    channels,
    weights: Float32Array.from(solution.subarray(0, channels * 3)),
    bias: Float32Array.from(solution.subarray(channels * 3)),
  };
}

/** Solves A X = B (A n x n, B n x m) by Gaussian elimination with partial pivoting; undefined when singular. */
function solveSymmetric(
  a: Float64Array,
  b: Float64Array,
  n: number,
  m: number,
): Float64Array | undefined {
  const A = Float64Array.from(a);
  const B = Float64Array.from(b);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++)
      if (Math.abs(A[r * n + col]!) > Math.abs(A[pivot * n + col]!)) pivot = r;
    if (Math.abs(A[pivot * n + col]!) < 1e-12) return undefined;
    if (pivot !== col) {
      for (let j = 0; j < n; j++)
        [A[col * n + j], A[pivot * n + j]] = [A[pivot * n + j]!, A[col * n + j]!];
      for (let j = 0; j < m; j++)
        [B[col * m + j], B[pivot * m + j]] = [B[pivot * m + j]!, B[col * m + j]!];
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = A[r * n + col]! / A[col * n + col]!;
      if (f === 0) continue;
      for (let j = col; j < n; j++) A[r * n + j]! -= f * A[col * n + j]!;
      for (let j = 0; j < m; j++) B[r * m + j]! -= f * B[col * m + j]!;
    }
  }
  const X = new Float64Array(n * m);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < m; j++) X[r * m + j] = B[r * m + j]! / A[r * n + r]!;
  return X;
}
