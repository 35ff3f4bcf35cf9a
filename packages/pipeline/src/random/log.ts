/**
 * Correctly rounded natural logarithm.
 *
 * numpy's legacy Gaussian sampler calls the C library's `log`. glibc's `log` (error < 0.52 ulp)
 * returns the correctly rounded result for all but about 3 in 10,000 inputs, while V8's `Math.log`
 * (an fdlibm port) differs from glibc for about 3 in 100. Rounding correctly is as close as an
 * implementation of our own gets to numpy on Linux without copying glibc's tables.
 *
 * Fast path: table-driven double-double evaluation (relative error about 2^-68 at worst) followed by
 * Ziv's rounding test; the rare ambiguous inputs are recomputed in 200-bit fixed point (BigInt).
 */

const FRACTION_BITS = 200n;
const TWO_POW_MINUS_52 = 2 ** -52;
const TWO_POW_54 = 2 ** 54;
/** The table is indexed by the mantissa's top 8 fraction bits, which keeps |r| below 2^-8.4. */
const TABLE_BITS = 8;
const TABLE_SIZE = 1 << TABLE_BITS;
/** Inputs this close to 1 skip the table: there log1p(x - 1) keeps full relative accuracy. */
const NEAR_ONE = 2 ** -10;
/** Relative error bound used by the rounding test (the error analysis gives about 2^-68). */
const FAST_PATH_RELATIVE_ERROR = 2 ** -66;
/** 2^27 + 1: Veltkamp's constant, splits a double into two halves whose products are exact. */
const SPLITTER = 134217729;

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HIGH_WORD = LITTLE_ENDIAN ? 1 : 0;
const LOW_WORD = LITTLE_ENDIAN ? 0 : 1;

/** atanh(s) = s + s^3/3 + s^5/5 + ... in 200-bit fixed point; needs |s| <= 1/3 to converge fast. */
function atanhFixed(s: bigint): bigint {
  const s2 = (s * s) >> FRACTION_BITS;
  let power = s;
  let sum = s;
  for (let k = 3n; power !== 0n; k += 2n) {
    power = (power * s2) >> FRACTION_BITS;
    sum += power / k;
  }
  return sum;
}

/** log(numerator / denominator) in fixed point, for a ratio in [1, 2]. */
function logRatioFixed(numerator: bigint, denominator: bigint): bigint {
  return 2n * atanhFixed(((numerator - denominator) << FRACTION_BITS) / (numerator + denominator));
}

const LN2_FIXED = logRatioFixed(2n, 1n);

/** The double nearest to `fixed / 2^200` (BigInt to Number rounds to nearest, ties to even). */
function fixedToDouble(fixed: bigint): number {
  return Number(fixed) * 2 ** -200;
}

/** A fixed-point value as a normalized double-double `[hi, lo]`. */
function fixedToDoubleDouble(fixed: bigint): [number, number] {
  const hi = fixedToDouble(fixed);
  return [hi, fixedToDouble(fixed - BigInt(hi * 2 ** 200))];
}

// ln2 = LN2_HI + LN2_MID + LN2_LO, with LN2_HI cut to 42 bits so that e * LN2_HI is exact for
// every binary64 exponent e (|e| < 2^11).
const LN2_HI = Number(LN2_FIXED >> (FRACTION_BITS - 42n)) * 2 ** -42;
const [LN2_MID, LN2_LO] = fixedToDoubleDouble(LN2_FIXED - BigInt(LN2_HI * 2 ** 200));

// Slot i covers mantissas [1 + i/256, 1 + (i+1)/256). INV_C[i] = j/1024 approximates 1/centre with
// 10 bits so that mantissa * INV_C[i] is exact once the mantissa is cut into a 43-bit head and a
// 10-bit tail; NEG_LOG_INV_C holds -log(j/1024) = log(2) - log(j/512) as a double-double.
const INV_C = new Float64Array(TABLE_SIZE);
const NEG_LOG_INV_C_HI = new Float64Array(TABLE_SIZE);
const NEG_LOG_INV_C_LO = new Float64Array(TABLE_SIZE);
for (let i = 0; i < TABLE_SIZE; i++) {
  const j = Math.round(1024 / (1 + (i + 0.5) / TABLE_SIZE));
  INV_C[i] = j / 1024;
  const [hi, lo] = fixedToDoubleDouble(LN2_FIXED - logRatioFixed(BigInt(j), 512n));
  NEG_LOG_INV_C_HI[i] = hi;
  NEG_LOG_INV_C_LO[i] = lo;
}

/** Reads x's bits; returns the unbiased exponent with x scaled into the normal range if needed. */
function decompose(x: number): { high: number; low: number; exponent: number } {
  scratch[0] = x;
  let high = scratchWords[HIGH_WORD]!;
  let exponent = (high >>> 20) - 1023;
  if (exponent === -1023) {
    scratch[0] = x * TWO_POW_54;
    high = scratchWords[HIGH_WORD]!;
    exponent = (high >>> 20) - 1023 - 54;
  }
  return { high, low: scratchWords[LOW_WORD]!, exponent };
}

/** 200-bit evaluation, used when the fast path cannot decide the rounding. */
function logSlow(x: number): number {
  const { high, low, exponent } = decompose(x);
  const mantissa = (BigInt((high & 0xfffff) | 0x100000) << 32n) | BigInt(low);
  const fixed = logRatioFixed(mantissa, 1n << 52n) + BigInt(exponent) * LN2_FIXED;
  return fixedToDouble(fixed);
}

/**
 * Natural logarithm rounded to the nearest double (ties to even), unlike `Math.log`, whose last
 * bit may differ. Special values follow `Math.log` (`log(0) = -Infinity`, negatives give NaN).
 *
 * @example
 * logCorrectlyRounded(0.6923226156693141); // -0.36770322439085684 (Math.log gives ...569)
 */
export function logCorrectlyRounded(x: number): number {
  if (!(x > 0) || x === Number.POSITIVE_INFINITY) return Math.log(x);
  if (x === 1) return 0;

  // log(x) = t + log1p(r), with t = e*ln2 - log(invc) as tHi + tLo and r = rHi + rLo exactly.
  let tHi = 0;
  let tLo = 0;
  let rHi: number;
  let rLo = 0;
  if (x > 1 - NEAR_ONE && x < 1 + NEAR_ONE) {
    rHi = x - 1; // exact (Sterbenz)
  } else {
    // Read the bits inline: this is the sampler's hot path, so no object is allocated here.
    scratch[0] = x;
    let high = scratchWords[HIGH_WORD]!;
    let exponent = (high >>> 20) - 1023;
    if (exponent === -1023) {
      scratch[0] = x * TWO_POW_54;
      high = scratchWords[HIGH_WORD]!;
      exponent = (high >>> 20) - 1023 - 54;
    }
    const low = scratchWords[LOW_WORD]!;
    const slot = (high >>> (20 - TABLE_BITS)) & (TABLE_SIZE - 1);
    const head =
      1 + ((high & 0xfffff) * 4294967296 + ((low & 0xfffffc00) >>> 0)) * TWO_POW_MINUS_52;
    const tail = (low & 0x3ff) * TWO_POW_MINUS_52;
    const invC = INV_C[slot]!;
    const a = head * invC - 1; // exact: 53-bit product near 1
    const b = tail * invC; // exact: 20-bit product
    rHi = a + b;
    const bv = rHi - a;
    rLo = a - (rHi - bv) + (b - bv);

    const eHi = exponent * LN2_HI; // exact
    const cHi = NEG_LOG_INV_C_HI[slot]!;
    tHi = eHi + cHi;
    const cv = tHi - eHi;
    tLo =
      eHi -
      (tHi - cv) +
      (cHi - cv) +
      (exponent * LN2_MID + (NEG_LOG_INV_C_LO[slot]! + exponent * LN2_LO));
  }

  // log1p(r) = r - r^2/2 + r^3 (1/3 - r/4 + ...): the first two terms in double-double.
  const square = rHi * rHi;
  const split = SPLITTER * rHi;
  const rHead = split - (split - rHi);
  const rTail = rHi - rHead;
  const squareLo = rHead * rHead - square + 2 * rHead * rTail + rTail * rTail + 2 * rHi * rLo;
  const r = rHi;
  const series =
    square *
    r *
    (1 / 3 +
      r *
        (-1 / 4 + r * (1 / 5 + r * (-1 / 6 + r * (1 / 7 + r * (-1 / 8 + r * (1 / 9 - r / 10)))))));
  const minusHalfSquare = -0.5 * square;
  const lHi = rHi + minusHalfSquare;
  const lv = lHi - rHi;
  const lLo = rHi - (lHi - lv) + (minusHalfSquare - lv) + (rLo - 0.5 * squareLo + series);

  const sHi = tHi + lHi;
  const sv = sHi - tHi;
  const sLo = tHi - (sHi - sv) + (lHi - sv) + (tLo + lLo);
  const result = sHi + sLo;
  const resultLo = sLo - (result - sHi);

  const bound = Math.abs(result) * FAST_PATH_RELATIVE_ERROR;
  if (result + (resultLo + bound) === result + (resultLo - bound)) return result;
  return logSlow(x);
}

/** Exposed for tests: the 200-bit path, which the fast path falls back to. */
export const logCorrectlyRoundedSlow = logSlow;
