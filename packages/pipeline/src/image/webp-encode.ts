import { LsbBitWriter } from "./bit-writer.ts";
import { clampByte } from "./clamp.ts";
import { ImageCodecError } from "./errors.ts";
import { canonicalReversedCodes, lengthLimitedCodeLengths } from "./huffman.ts";
import { assertRgbImage, type RgbImage } from "./types.ts";
import {
  CODE_LENGTH_ORDER,
  DISTANCE_CODE_LEFT,
  DISTANCE_CODE_UP,
  MAX_CODE_LENGTH,
  MAX_DIMENSION,
  NUM_DISTANCE_CODES,
  NUM_LENGTH_CODES,
  NUM_LITERALS,
  predict,
  prefixEncode,
  subPixels,
  TRANSFORM_PREDICTOR,
  TRANSFORM_SUBTRACT_GREEN,
  VP8L_SIGNATURE,
} from "./vp8l-common.ts";

/** Predictor blocks are 2^4 = 16 pixels square: 1024 modes for 512x512, a few hundred bytes. */
const PREDICTOR_BITS = 4;
const MIN_MATCH = 3;
const MAX_MATCH = 4096;

/**
 * Encodes a lossless WebP (RIFF/WEBP/VP8L). The image goes through the subtract-green and predictor
 * transforms (the mode of each 16x16 block chosen by smallest residual magnitude), then LZ77 runs
 * copying the pixel to the left or above, then Huffman codes built from the actual symbol
 * histograms and limited to 15 bits. No colour cache or cross-colour transform: simple and fast,
 * while still well below raw size on generated images. Width and height must be at most 16384.
 *
 * @example
 * await writeFile("out.webp", encodeWebp(img));
 */
export function encodeWebp(img: RgbImage): Uint8Array {
  assertRgbImage(img, "encodeWebp");
  const { width, height, data } = img;
  if (width > MAX_DIMENSION || height > MAX_DIMENSION) {
    throw new ImageCodecError(
      `encodeWebp: width and height must be at most ${MAX_DIMENSION}, got ${width}x${height}`,
    );
  }
  const argb = new Uint32Array(width * height);
  for (let i = 0, j = 0; i < argb.length; i++, j += 3) {
    const r = data[j]!;
    const g = data[j + 1]!;
    const b = data[j + 2]!;
    // Subtract green now: red and blue minus green decorrelate well on natural images.
    argb[i] = (0xff000000 | (((r - g) & 0xff) << 16) | (g << 8) | ((b - g) & 0xff)) >>> 0;
  }

  const bw = new LsbBitWriter(width * height + 1024);
  bw.write(VP8L_SIGNATURE, 8);
  bw.write(width - 1, 14);
  bw.write(height - 1, 14);
  bw.write(0, 1); // alpha_is_used: every pixel is opaque
  bw.write(0, 3); // version

  bw.write(1, 1);
  bw.write(TRANSFORM_SUBTRACT_GREEN, 2);

  const blocksX = Math.ceil(width / (1 << PREDICTOR_BITS));
  const blocksY = Math.ceil(height / (1 << PREDICTOR_BITS));
  const modes = choosePredictors(argb, width, height, blocksX, blocksY);
  bw.write(1, 1);
  bw.write(TRANSFORM_PREDICTOR, 2);
  bw.write(PREDICTOR_BITS - 2, 3);
  const modeImage = Uint32Array.from(modes, (m) => (0xff000000 | (m << 8)) >>> 0);
  writeEntropyImage(bw, modeImage, blocksX, false);

  bw.write(0, 1); // no more transforms
  writeEntropyImage(bw, residuals(argb, width, height, modes, blocksX), width, true);
  return riff(bw.finish());
}

function riff(vp8l: Uint8Array): Uint8Array {
  const padded = vp8l.length + (vp8l.length & 1);
  const out = new Uint8Array(20 + padded);
  const view = new DataView(out.buffer);
  const ascii = (s: string, at: number) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii("RIFF", 0);
  view.setUint32(4, 12 + padded, true);
  ascii("WEBP", 8);
  ascii("VP8L", 12);
  view.setUint32(16, vp8l.length, true);
  out.set(vp8l, 20);
  return out;
}

/** Neighbours of pixel i as the predictor sees them (TR wraps to the row start at the right edge). */
function predictAt(argb: Uint32Array, i: number, width: number, mode: number): number {
  return predict(mode, argb[i - 1]!, argb[i - width]!, argb[i - width - 1]!, argb[i - width + 1]!);
}

/** |d| for a residual taken mod 256 and read as a signed byte. */
function signedMagnitude(d: number): number {
  const b = d & 255;
  return b < 128 ? b : 256 - b;
}

/**
 * Picks each block's predictor mode by the smallest sum of residual magnitudes over its pixels,
 * a cheap stand-in for entropy. Works on unpacked channels: packing and unpacking ARGB for 13 modes
 * per pixel would dominate the encoder's time.
 */
function choosePredictors(
  argb: Uint32Array,
  width: number,
  height: number,
  blocksX: number,
  blocksY: number,
): Uint8Array {
  const size = 1 << PREDICTOR_BITS;
  const n = argb.length;
  const red = new Int16Array(n);
  const green = new Int16Array(n);
  const blue = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const p = argb[i]!;
    red[i] = (p >>> 16) & 255;
    green[i] = (p >>> 8) & 255;
    blue[i] = p & 255;
  }
  const modes = new Uint8Array(blocksX * blocksY);
  const costs = new Float64Array(14);
  for (let by = 0; by < blocksY; by++) {
    for (let bx = 0; bx < blocksX; bx++) {
      costs.fill(0);
      // The first row and column are predicted by fixed rules whatever the mode, so skip them.
      const y0 = Math.max(1, by * size);
      const x0 = Math.max(1, bx * size);
      const y1 = Math.min(height, (by + 1) * size);
      const x1 = Math.min(width, (bx + 1) * size);
      // Every other row is enough to rank the modes and halves the encoder's main cost.
      for (let y = y0; y < y1; y += 2) {
        for (let x = x0; x < x1; x++) {
          const i = y * width + x;
          // Select (mode 11) compares whole pixels: L wins when |T - TL| < |L - TL| summed over channels.
          const selectLeft =
            gradient(red, i - width, i - width - 1) +
              gradient(green, i - width, i - width - 1) +
              gradient(blue, i - width, i - width - 1) <
            gradient(red, i - 1, i - width - 1) +
              gradient(green, i - 1, i - width - 1) +
              gradient(blue, i - 1, i - width - 1);
          addModeCosts(red, i, width, selectLeft, costs);
          addModeCosts(green, i, width, selectLeft, costs);
          addModeCosts(blue, i, width, selectLeft, costs);
        }
      }
      let best = 1;
      for (let m = 2; m < 14; m++) if (costs[m]! < costs[best]!) best = m;
      modes[by * blocksX + bx] = best;
    }
  }
  return modes;
}

function gradient(c: Int16Array, a: number, b: number): number {
  return Math.abs(c[a]! - c[b]!);
}

/** Adds one channel's residual magnitude under each of modes 1-13 (the RFC 9649 predictors). */
function addModeCosts(
  c: Int16Array,
  i: number,
  width: number,
  selectLeft: boolean,
  costs: Float64Array,
): void {
  const p = c[i]!;
  const l = c[i - 1]!;
  const t = c[i - width]!;
  const tl = c[i - width - 1]!;
  const tr = c[i - width + 1]!;
  const lt = (l + t) >> 1;
  const ltl = (l + tl) >> 1;
  const ttr = (t + tr) >> 1;
  const full = l + t - tl;
  const half = lt + Math.trunc((lt - tl) / 2);
  costs[1]! += signedMagnitude(p - l);
  costs[2]! += signedMagnitude(p - t);
  costs[3]! += signedMagnitude(p - tr);
  costs[4]! += signedMagnitude(p - tl);
  costs[5]! += signedMagnitude(p - ((((l + tr) >> 1) + t) >> 1));
  costs[6]! += signedMagnitude(p - ltl);
  costs[7]! += signedMagnitude(p - lt);
  costs[8]! += signedMagnitude(p - ((tl + t) >> 1));
  costs[9]! += signedMagnitude(p - ttr);
  costs[10]! += signedMagnitude(p - ((ltl + ttr) >> 1));
  costs[11]! += signedMagnitude(p - (selectLeft ? l : t));
  costs[12]! += signedMagnitude(p - clampByte(full));
  costs[13]! += signedMagnitude(p - clampByte(half));
}

function residuals(
  argb: Uint32Array,
  width: number,
  height: number,
  modes: Uint8Array,
  blocksX: number,
): Uint32Array {
  const out = new Uint32Array(argb.length);
  out[0] = subPixels(argb[0]!, 0xff000000);
  for (let x = 1; x < width; x++) out[x] = subPixels(argb[x]!, argb[x - 1]!);
  for (let y = 1; y < height; y++) {
    const row = y * width;
    out[row] = subPixels(argb[row]!, argb[row - width]!);
    const modeRow = (y >> PREDICTOR_BITS) * blocksX;
    for (let x = 1; x < width; x++) {
      const mode = modes[modeRow + (x >> PREDICTOR_BITS)]!;
      out[row + x] = subPixels(argb[row + x]!, predictAt(argb, row + x, width, mode));
    }
  }
  return out;
}

/** LZ77 tokens: `length[k] === 0` marks a literal pixel, otherwise a copy with `distCode[k]`. */
interface Tokens {
  count: number;
  pixel: Uint32Array;
  length: Uint16Array;
  distCode: Uint8Array;
}

/** Greedy LZ77 with the two cheapest distances: the pixel to the left and the one above. */
function tokenize(pixels: Uint32Array, width: number): Tokens {
  const n = pixels.length;
  const tokens: Tokens = {
    count: 0,
    pixel: new Uint32Array(n),
    length: new Uint16Array(n),
    distCode: new Uint8Array(n),
  };
  let i = 0;
  while (i < n) {
    const limit = Math.min(MAX_MATCH, n - i);
    let bestLen = 0;
    let bestCode = DISTANCE_CODE_LEFT;
    if (i >= 1) {
      while (bestLen < limit && pixels[i + bestLen] === pixels[i + bestLen - 1]) bestLen++;
    }
    if (i >= width) {
      let len = 0;
      while (len < limit && pixels[i + len] === pixels[i + len - width]) len++;
      if (len > bestLen) {
        bestLen = len;
        bestCode = DISTANCE_CODE_UP;
      }
    }
    const k = tokens.count++;
    if (bestLen >= MIN_MATCH) {
      tokens.length[k] = bestLen;
      tokens.distCode[k] = bestCode;
      i += bestLen;
    } else {
      tokens.pixel[k] = pixels[i]!;
      i++;
    }
  }
  return tokens;
}

interface PrefixCode {
  lengths: Uint8Array;
  codes: Uint16Array;
}

/**
 * Writes an entropy-coded image: no colour cache, (for the main image) no meta prefix codes, the
 * five prefix codes, then the pixels.
 */
function writeEntropyImage(
  bw: LsbBitWriter,
  pixels: Uint32Array,
  width: number,
  isMain: boolean,
): void {
  const tokens = tokenize(pixels, width);
  const green = new Uint32Array(NUM_LITERALS + NUM_LENGTH_CODES);
  const red = new Uint32Array(NUM_LITERALS);
  const blue = new Uint32Array(NUM_LITERALS);
  const alpha = new Uint32Array(NUM_LITERALS);
  const dist = new Uint32Array(NUM_DISTANCE_CODES);
  for (let k = 0; k < tokens.count; k++) {
    const len = tokens.length[k]!;
    if (len === 0) {
      const p = tokens.pixel[k]!;
      green[(p >>> 8) & 255]!++;
      red[(p >>> 16) & 255]!++;
      blue[p & 255]!++;
      alpha[p >>> 24]!++;
    } else {
      green[NUM_LITERALS + prefixEncode(len).prefix]!++;
      dist[prefixEncode(tokens.distCode[k]!).prefix]!++;
    }
  }
  bw.write(0, 1); // no colour cache
  if (isMain) bw.write(0, 1); // one prefix-code group for the whole image
  const codes = [green, red, blue, alpha, dist].map((h) => writePrefixCode(bw, h));
  const [g, r, b, a, d] = codes as [PrefixCode, PrefixCode, PrefixCode, PrefixCode, PrefixCode];
  for (let k = 0; k < tokens.count; k++) {
    const len = tokens.length[k]!;
    if (len === 0) {
      const p = tokens.pixel[k]!;
      emit(bw, g, (p >>> 8) & 255);
      emit(bw, r, (p >>> 16) & 255);
      emit(bw, b, p & 255);
      emit(bw, a, p >>> 24);
    } else {
      const lp = prefixEncode(len);
      emit(bw, g, NUM_LITERALS + lp.prefix);
      bw.write(lp.extra, lp.extraBits);
      const dp = prefixEncode(tokens.distCode[k]!);
      emit(bw, d, dp.prefix);
      bw.write(dp.extra, dp.extraBits);
    }
  }
}

function emit(bw: LsbBitWriter, code: PrefixCode, symbol: number): void {
  const len = code.lengths[symbol]!;
  if (len > 0) bw.write(code.codes[symbol]!, len);
}

/**
 * Writes the prefix code for a histogram and returns the lengths to emit symbols with (a code with
 * a single used symbol costs zero bits per symbol, as decoders read it).
 */
function writePrefixCode(bw: LsbBitWriter, histogram: Uint32Array): PrefixCode {
  const used: number[] = [];
  for (let s = 0; s < histogram.length; s++) if (histogram[s]! > 0) used.push(s);
  const alphabet = histogram.length;
  if (used.length <= 2 && used.every((s) => s < NUM_LITERALS)) {
    // Simple code: one or two 8-bit symbols (or symbol 0 for an unused alphabet).
    const symbols = used.length === 0 ? [0] : used;
    bw.write(1, 1);
    bw.write(symbols.length - 1, 1);
    const first = symbols[0]!;
    if (first < 2) {
      bw.write(0, 1);
      bw.write(first, 1);
    } else {
      bw.write(1, 1);
      bw.write(first, 8);
    }
    if (symbols.length === 2) bw.write(symbols[1]!, 8);
    const lengths = new Uint8Array(alphabet);
    if (symbols.length === 2) for (const s of symbols) lengths[s] = 1;
    return { lengths, codes: canonicalReversedCodes(lengths) };
  }
  const lengths = lengthLimitedCodeLengths(histogram, MAX_CODE_LENGTH);
  bw.write(0, 1); // normal code
  writeCodeLengths(bw, lengths);
  if (used.length === 1) {
    return { lengths: new Uint8Array(alphabet), codes: new Uint16Array(alphabet) };
  }
  return { lengths, codes: canonicalReversedCodes(lengths) };
}

/** Run-length codes the lengths with symbols 0-15 and repeats 16 (previous), 17 and 18 (zeros). */
function writeCodeLengths(bw: LsbBitWriter, lengths: Uint8Array): void {
  const symbols: number[] = [];
  const extras: number[] = [];
  const push = (symbol: number, extra = 0) => {
    symbols.push(symbol);
    extras.push(extra);
  };
  for (let i = 0; i < lengths.length; ) {
    const v = lengths[i]!;
    let run = 1;
    while (i + run < lengths.length && lengths[i + run] === v) run++;
    i += run;
    if (v === 0) {
      while (run >= 3) {
        const r = Math.min(run, 138);
        if (r >= 11) push(18, r - 11);
        else push(17, r - 3);
        run -= r;
      }
    } else {
      push(v);
      run--;
      while (run >= 3) {
        const r = Math.min(run, 6);
        push(16, r - 3);
        run -= r;
      }
    }
    for (; run > 0; run--) push(v);
  }

  const histogram = new Uint32Array(19);
  for (const s of symbols) histogram[s]!++;
  const clLengths = lengthLimitedCodeLengths(histogram, 7);
  const single = symbols.every((s) => s === symbols[0]);
  const clCodes = canonicalReversedCodes(clLengths);
  let count = 19;
  while (count > 4 && clLengths[CODE_LENGTH_ORDER[count - 1]!] === 0) count--;
  bw.write(count - 4, 4);
  for (let k = 0; k < count; k++) bw.write(clLengths[CODE_LENGTH_ORDER[k]!]!, 3);
  bw.write(0, 1); // max_symbol = alphabet size: every length is written
  for (let k = 0; k < symbols.length; k++) {
    const s = symbols[k]!;
    if (!single) bw.write(clCodes[s]!, clLengths[s]!);
    if (s === 16) bw.write(extras[k]!, 2);
    else if (s === 17) bw.write(extras[k]!, 3);
    else if (s === 18) bw.write(extras[k]!, 7);
  }
}
