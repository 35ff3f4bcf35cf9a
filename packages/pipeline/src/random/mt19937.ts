/**
 * The 32-bit Mersenne Twister (Matsumoto & Nishimura, 1998) with the seeding numpy's legacy
 * `RandomState(int)` uses (`init_genrand`). Output is the reference MT19937 stream, so it matches
 * numpy's and C++'s std::mt19937 (same seed) word for word.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
/** Multiplying by 2^-53 is exact, so it gives the same doubles as numpy's division by 2^53. */
const TWO_POW_MINUS_53 = 2 ** -53;

/**
 * MT19937 state and word generator.
 *
 * @example
 * const mt = new Mt19937(5489);
 * mt.nextUint32(); // 3499211612, the reference generator's first output
 */
export class Mt19937 {
  private readonly state = new Uint32Array(N);
  /** The tempered outputs of the current state block, so drawing a word is one array read. */
  private readonly output = new Uint32Array(N);
  private position = N;

  /** @param seed integer in [0, 2^32 - 1] (the caller validates). */
  constructor(seed: number) {
    const state = this.state;
    state[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const previous = state[i - 1]!;
      // Math.imul keeps the multiply in 32-bit arithmetic; a plain * would lose low bits past 2^53.
      state[i] = Math.imul(1812433253, previous ^ (previous >>> 30)) + i;
    }
  }

  /** Next tempered 32-bit word, in [0, 2^32). */
  nextUint32(): number {
    if (this.position === N) this.refill();
    return this.output[this.position++]!;
  }

  /** A double in [0, 1) with 53 random bits, as numpy's `random_sample` (two words per draw). */
  nextDouble(): number {
    const position = this.position;
    if (position > N - 2) {
      const a = this.nextUint32() >>> 5;
      return (a * 67108864 + (this.nextUint32() >>> 6)) * TWO_POW_MINUS_53;
    }
    // Both words are in the current block (the common case): read them without a refill check.
    const output = this.output;
    this.position = position + 2;
    return (
      ((output[position]! >>> 5) * 67108864 + (output[position + 1]! >>> 6)) * TWO_POW_MINUS_53
    );
  }

  /** Advances the state by one block of 624 words and tempers them into `output`. */
  private refill(): void {
    const state = this.state;
    // -(y & 1) & MATRIX_A is MATRIX_A for odd y: branch-free, since that branch is a coin flip.
    let k = 0;
    for (; k < N - M; k++) {
      const y = (state[k]! & UPPER_MASK) | (state[k + 1]! & LOWER_MASK);
      state[k] = state[k + M]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    for (; k < N - 1; k++) {
      const y = (state[k]! & UPPER_MASK) | (state[k + 1]! & LOWER_MASK);
      state[k] = state[k + M - N]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    const last = (state[N - 1]! & UPPER_MASK) | (state[0]! & LOWER_MASK);
    state[N - 1] = state[M - 1]! ^ (last >>> 1) ^ (-(last & 1) & MATRIX_A);

    const output = this.output;
    for (let i = 0; i < N; i++) {
      let y = state[i]!;
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      output[i] = y;
    }
    this.position = 0;
  }
}
