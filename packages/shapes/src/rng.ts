/**
 * A small seeded PRNG (xoshiro128**, state filled by splitmix32) so that every scene, caption and
 * dataset is reproducible from a seed on any machine. Never use Math.random in this package.
 */

function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

/**
 * Mixes a seed and an index into a new 32-bit seed, so that item `i` of a dataset is the same
 * whatever the dataset's length.
 *
 * @example
 * new Rng(mixSeed(42, 7)) // the generator of item 7 of dataset seed 42
 */
export function mixSeed(seed: number, index: number): number {
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  let [state, a] = splitmix32(seed >>> 0);
  [state, a] = splitmix32(state ^ a ^ hi);
  const [, b] = splitmix32(
    state ^ Math.imul(index >>> 0, 0x27d4eb2f) ^ Math.floor(index / 2 ** 32),
  );
  return (a ^ b) >>> 0;
}

/**
 * Seeded uniform random numbers.
 *
 * @example
 * const rng = new Rng(1);
 * rng.int(1, 6); // a die roll
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** @param seed any integer (the low 32 bits and the next 21 bits both count) */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
    }
    let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x632be5ab);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(state);
      state = next;
      words.push(out);
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.nextU32() / 2 ** 32;
  }

  /** Uniform float in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Rng.pick: items must not be empty");
    return items[this.int(0, items.length - 1)] as T;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
