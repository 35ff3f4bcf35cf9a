import type { NoiseSource } from "../schedulers/types.ts";
import { logCorrectlyRounded } from "./log.ts";
import { Mt19937 } from "./mt19937.ts";

const MAX_SEED = 2 ** 32 - 1;

function checkCount(operation: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${operation}: n must be a non-negative integer, got ${n}`);
  }
}

/**
 * numpy's legacy `np.random.RandomState(seed)`: the generator diffusers' ONNX pipelines draw
 * their initial latents from (`generator.randn(*shape).astype(np.float32)`), so the same seed
 * gives the same image as diffusers.
 *
 * Draws continue one stream across calls, as in numpy: `randn(3)` then `randn(3)` equals
 * `randn(6)`, because the second value of each Box-Muller pair is kept for the next draw.
 *
 * Float64 values equal numpy's on Linux except where glibc's `log` is off by its last bit (about
 * 3 in 10,000 pairs); this class rounds `log` correctly instead. The float32 cast absorbs those
 * one-ulp differences, so `randn` matches numpy's `.astype(np.float32)` output.
 *
 * @example
 * const rng = new RandomState(0);
 * rng.standardNormalF64(2); // Float64Array [1.764052345967664, 0.4001572083672233]
 * const latents = new RandomState(42).randn(4 * 64 * 64); // numpy order, float32
 */
export class RandomState implements NoiseSource {
  private readonly mt: Mt19937;
  private hasGauss = false;
  private gauss = 0;

  /** @param seed integer in [0, 2^32 - 1], as numpy requires. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new RangeError(`RandomState: seed must be an integer in [0, ${MAX_SEED}], got ${seed}`);
    }
    this.mt = new Mt19937(seed);
  }

  /** `n` uniform doubles in [0, 1) with 53 random bits each, like `np.random.random_sample(n)`. */
  randomSample(n: number): Float64Array {
    checkCount("randomSample", n);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.mt.nextDouble();
    return out;
  }

  /** `n` standard normals in float64, like numpy's legacy `standard_normal(n)` / `randn(n)`. */
  standardNormalF64(n: number): Float64Array {
    checkCount("standardNormalF64", n);
    const out = new Float64Array(n);
    this.fillGauss(out);
    return out;
  }

  /** `n` standard normals drawn in float64 and then rounded to float32, like `randn(n).astype(np.float32)`. */
  randn(n: number): Float32Array {
    checkCount("randn", n);
    const out = new Float32Array(n);
    this.fillGauss(out);
    return out;
  }

  /** numpy's `legacy_gauss`: Marsaglia's polar method, returning f*x2 first and caching f*x1. */
  private fillGauss(out: Float64Array | Float32Array): void {
    const mt = this.mt;
    const n = out.length;
    let i = 0;
    if (n > 0 && this.hasGauss) {
      out[i++] = this.gauss;
      this.hasGauss = false;
      this.gauss = 0;
    }
    while (i < n) {
      let x1: number;
      let x2: number;
      let r2: number;
      do {
        x1 = 2 * mt.nextDouble() - 1;
        x2 = 2 * mt.nextDouble() - 1;
        r2 = x1 * x1 + x2 * x2;
      } while (r2 >= 1 || r2 === 0);
      const f = Math.sqrt((-2 * logCorrectlyRounded(r2)) / r2);
      out[i++] = f * x2;
      if (i < n) {
        out[i++] = f * x1;
      } else {
        this.hasGauss = true;
        this.gauss = f * x1;
      }
    }
  }
}
