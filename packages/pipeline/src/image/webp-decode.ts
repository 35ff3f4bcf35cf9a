import { ImageCodecError } from "./errors.ts";
import { assertPixelLimit, DEFAULT_MAX_PIXELS, type RgbImage } from "./types.ts";
import {
  addPixels,
  CODE_LENGTH_ORDER,
  distanceFromCode,
  NUM_DISTANCE_CODES,
  NUM_LENGTH_CODES,
  NUM_LITERALS,
  predict,
  prefixBase,
  TRANSFORM_COLOR_INDEXING,
  TRANSFORM_CROSS_COLOR,
  TRANSFORM_PREDICTOR,
  TRANSFORM_SUBTRACT_GREEN,
  VP8L_SIGNATURE,
} from "./vp8l-common.ts";

/** Options of `decodeWebp`. */
export interface WebpDecodeOptions {
  /** Transparency handling, as for PNG: `"over-white"` (default) or `"drop"`. */
  alpha?: "over-white" | "drop";
  /** Refuse images with more pixels than this before allocating. Default 2^26 (8192x8192). */
  maxPixels?: number;
}

/**
 * Decodes a lossless WebP (VP8L, in a simple or extended RIFF container) to 8-bit RGB, with all of
 * the format's tools: the four transforms, colour cache, meta prefix codes and LZ77. Lossy (VP8)
 * and animated files throw an `ImageCodecError` saying so. Alpha is composited over white by
 * default, as `decodePng` does.
 *
 * @example
 * const img = decodeWebp(encodeWebp(source)); // pixel-identical to source
 */
export function decodeWebp(bytes: Uint8Array, options: WebpDecodeOptions = {}): RgbImage {
  const { alpha = "over-white", maxPixels = DEFAULT_MAX_PIXELS } = options;
  const vp8l = findVp8lChunk(bytes);
  const r = new BitReader(vp8l, "VP8L");
  if (r.read(8) !== VP8L_SIGNATURE) {
    throw new ImageCodecError("WebP VP8L chunk has a bad signature byte (expected 0x2f)");
  }
  const width = r.read(14) + 1;
  const height = r.read(14) + 1;
  r.read(1); // alpha_is_used is only a hint; the pixels say whether there is alpha
  const version = r.read(3);
  if (version !== 0) {
    throw new ImageCodecError(`WebP VP8L version ${version} is unknown (expected 0)`);
  }
  assertPixelLimit("WebP", width, height, maxPixels);
  const argb = decodeMainImage(r, width, height);
  const out = new Uint8Array(width * height * 3);
  const composite = alpha === "over-white";
  for (let i = 0, o = 0; i < argb.length; i++, o += 3) {
    const p = argb[i]!;
    const a = composite ? p >>> 24 : 255;
    out[o] = over((p >>> 16) & 255, a);
    out[o + 1] = over((p >>> 8) & 255, a);
    out[o + 2] = over(p & 255, a);
  }
  return { width, height, data: out };
}

function over(c: number, a: number): number {
  return a === 255 ? c : Math.round((c * a + 255 * (255 - a)) / 255);
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** Returns the VP8L payload, walking the RIFF chunks of a simple or extended (VP8X) file. */
function findVp8lChunk(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 12 || fourcc(bytes, 0) !== "RIFF" || fourcc(bytes, 8) !== "WEBP") {
    throw new ImageCodecError("Not a WebP: missing RIFF....WEBP header");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffEnd = Math.min(bytes.length, 8 + view.getUint32(4, true));
  let pos = 12;
  while (pos + 8 <= riffEnd) {
    const type = fourcc(bytes, pos);
    const size = view.getUint32(pos + 4, true);
    const start = pos + 8;
    if (start + size > bytes.length) {
      throw new ImageCodecError(
        `WebP truncated at byte ${bytes.length}: ${type} chunk at byte ${pos} needs ${size + 8} bytes`,
      );
    }
    if (type === "VP8L") return bytes.subarray(start, start + size);
    if (type === "VP8 ") {
      throw new ImageCodecError("WebP lossy (VP8) decoding is not supported; only lossless (VP8L)");
    }
    const animated =
      type === "ANIM" || type === "ANMF" || (type === "VP8X" && (bytes[start]! & 0x02) !== 0);
    if (animated) throw new ImageCodecError("Animated WebP is not supported");
    pos = start + size + (size & 1);
  }
  throw new ImageCodecError("WebP has no VP8L image chunk");
}

/** LSB-first bit reader over a byte array; reading past the end is an error. */
class BitReader {
  private bitPos = 0;
  private readonly totalBits: number;

  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {
    this.totalBits = data.length * 8;
  }

  /** The next `n` (<= 24) bits without consuming them; zero beyond the end. */
  peek(n: number): number {
    const byte = this.bitPos >> 3;
    const d = this.data;
    const word =
      (d[byte] ?? 0) |
      ((d[byte + 1] ?? 0) << 8) |
      ((d[byte + 2] ?? 0) << 16) |
      ((d[byte + 3] ?? 0) << 24);
    return (word >>> (this.bitPos & 7)) & ((1 << n) - 1);
  }

  skip(n: number): void {
    this.bitPos += n;
    if (this.bitPos > this.totalBits) {
      throw new ImageCodecError(
        `WebP truncated at byte ${this.data.length} of the ${this.what} data`,
      );
    }
  }

  read(n: number): number {
    if (n === 0) return 0;
    const v = this.peek(n);
    this.skip(n);
    return v;
  }
}

const PRIMARY_BITS = 10;

/** A prefix code ready for decoding. */
interface PrefixCode {
  /** Set when the code has one symbol: it takes zero bits. */
  single: number;
  /** Indexed by the next PRIMARY_BITS bits: `length << 16 | symbol`, 0 for longer codes. */
  table: Uint32Array;
  /** Canonical decoding for codes longer than PRIMARY_BITS (puff-style count/symbol lists). */
  counts: Uint16Array;
  sorted: Uint16Array;
}

function buildPrefixCode(lengths: Uint8Array, what: string): PrefixCode {
  const counts = new Uint16Array(16);
  let used = 0;
  let last = 0;
  for (let s = 0; s < lengths.length; s++) {
    if (lengths[s]! > 0) {
      counts[lengths[s]!]!++;
      used++;
      last = s;
    }
  }
  if (used === 0) throw new ImageCodecError(`WebP ${what} prefix code has no symbols`);
  if (used === 1) {
    return { single: last, table: new Uint32Array(0), counts, sorted: new Uint16Array(0) };
  }
  // A usable code is complete: the Kraft sum of its lengths is exactly 1.
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = left * 2 - counts[len]!;
    if (left < 0) throw new ImageCodecError(`WebP ${what} prefix code is over-subscribed`);
  }
  if (left !== 0) throw new ImageCodecError(`WebP ${what} prefix code is incomplete`);
  const offsets = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offsets[len + 1] = offsets[len]! + counts[len]!;
  const sorted = new Uint16Array(used);
  for (let s = 0; s < lengths.length; s++) if (lengths[s]! > 0) sorted[offsets[lengths[s]!]!++] = s;
  const table = new Uint32Array(1 << PRIMARY_BITS);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= PRIMARY_BITS; len++) {
    for (let i = 0; i < counts[len]!; i++, k++, code++) {
      let reversed = 0;
      for (let b = 0; b < len; b++) reversed |= ((code >> b) & 1) << (len - 1 - b);
      for (let j = reversed; j < 1 << PRIMARY_BITS; j += 1 << len)
        table[j] = (len << 16) | sorted[k]!;
    }
    code <<= 1;
  }
  return { single: -1, table, counts, sorted };
}

function readSymbol(r: BitReader, code: PrefixCode): number {
  if (code.single >= 0) return code.single;
  const entry = code.table[r.peek(PRIMARY_BITS)]!;
  if (entry !== 0) {
    r.skip(entry >>> 16);
    return entry & 0xffff;
  }
  // Long code: walk the canonical code one bit at a time (first bit is the most significant).
  let value = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len < 16; len++) {
    value |= r.read(1);
    const count = code.counts[len]!;
    if (value - first < count) return code.sorted[index + value - first]!;
    index += count;
    first = (first + count) << 1;
    value <<= 1;
  }
  throw new ImageCodecError("WebP data has an invalid prefix code");
}

function readPrefixCode(r: BitReader, alphabet: number, what: string): PrefixCode {
  const lengths = new Uint8Array(alphabet);
  if (r.read(1) === 1) {
    const n = r.read(1) + 1;
    const first = r.read(r.read(1) === 1 ? 8 : 1);
    const symbols = n === 2 ? [first, r.read(8)] : [first];
    for (const s of symbols) {
      if (s >= alphabet) {
        throw new ImageCodecError(`WebP ${what} simple code uses symbol ${s}, beyond ${alphabet}`);
      }
      lengths[s] = 1;
    }
    return buildPrefixCode(lengths, what);
  }
  const clLengths = new Uint8Array(19);
  const numCodes = r.read(4) + 4;
  for (let i = 0; i < numCodes; i++) clLengths[CODE_LENGTH_ORDER[i]!] = r.read(3);
  const clCode = buildPrefixCode(clLengths, `${what} code-length`);
  let maxSymbol = alphabet;
  if (r.read(1) === 1) {
    const nbits = 2 + 2 * r.read(3);
    maxSymbol = 2 + r.read(nbits);
    if (maxSymbol > alphabet) {
      throw new ImageCodecError(
        `WebP ${what} code declares ${maxSymbol} lengths, beyond ${alphabet}`,
      );
    }
  }
  let prev = 8;
  for (let symbol = 0; symbol < alphabet && maxSymbol-- > 0; ) {
    const c = readSymbol(r, clCode);
    if (c < 16) {
      lengths[symbol++] = c;
      if (c !== 0) prev = c;
      continue;
    }
    const repeat = c === 16 ? 3 + r.read(2) : c === 17 ? 3 + r.read(3) : 11 + r.read(7);
    if (symbol + repeat > alphabet) {
      throw new ImageCodecError(`WebP ${what} code lengths run past ${alphabet} symbols`);
    }
    lengths.fill(c === 16 ? prev : 0, symbol, symbol + repeat);
    symbol += repeat;
  }
  return buildPrefixCode(lengths, what);
}

type Transform =
  | {
      type: typeof TRANSFORM_PREDICTOR | typeof TRANSFORM_CROSS_COLOR;
      width: number;
      bits: number;
      data: Uint32Array;
    }
  | { type: typeof TRANSFORM_SUBTRACT_GREEN; width: number }
  | { type: typeof TRANSFORM_COLOR_INDEXING; width: number; bits: number; palette: Uint32Array };

function subsampled(size: number, bits: number): number {
  return (size + (1 << bits) - 1) >> bits;
}

function decodeMainImage(r: BitReader, width: number, height: number): Uint32Array {
  const transforms: Transform[] = [];
  const seen = new Set<number>();
  let xsize = width;
  while (r.read(1) === 1) {
    const type = r.read(2);
    if (seen.has(type)) throw new ImageCodecError(`WebP uses transform ${type} twice`);
    seen.add(type);
    if (type === TRANSFORM_PREDICTOR || type === TRANSFORM_CROSS_COLOR) {
      const bits = r.read(3) + 2;
      const data = decodeImageStream(r, subsampled(xsize, bits), subsampled(height, bits), false);
      transforms.push({ type, width: xsize, bits, data });
    } else if (type === TRANSFORM_SUBTRACT_GREEN) {
      transforms.push({ type, width: xsize });
    } else {
      const size = r.read(8) + 1;
      const bits = size > 16 ? 0 : size > 4 ? 1 : size > 2 ? 2 : 3;
      const palette = decodeImageStream(r, size, 1, false);
      // Palette entries are stored as differences from the previous entry.
      for (let i = 1; i < size; i++) palette[i] = addPixels(palette[i]!, palette[i - 1]!);
      transforms.push({ type: TRANSFORM_COLOR_INDEXING, width: xsize, bits, palette });
      xsize = subsampled(xsize, bits);
    }
  }
  let pixels = decodeImageStream(r, xsize, height, true);
  for (let t = transforms.length - 1; t >= 0; t--)
    pixels = inverseTransform(transforms[t]!, pixels, height);
  return pixels;
}

function decodeImageStream(
  r: BitReader,
  width: number,
  height: number,
  isMain: boolean,
): Uint32Array {
  let cacheBits = 0;
  if (r.read(1) === 1) {
    cacheBits = r.read(4);
    if (cacheBits < 1 || cacheBits > 11) {
      throw new ImageCodecError(`WebP colour cache size ${cacheBits} bits is invalid (1-11)`);
    }
  }
  let groupBits = 0;
  let groupImage: Uint32Array | undefined;
  let groupsWide = 0;
  let numGroups = 1;
  if (isMain && r.read(1) === 1) {
    groupBits = r.read(3) + 2;
    groupsWide = subsampled(width, groupBits);
    groupImage = decodeImageStream(r, groupsWide, subsampled(height, groupBits), false);
    for (let i = 0; i < groupImage.length; i++) {
      groupImage[i] = (groupImage[i]! >>> 8) & 0xffff;
      numGroups = Math.max(numGroups, groupImage[i]! + 1);
    }
  }
  const cacheSize = cacheBits > 0 ? 1 << cacheBits : 0;
  const groups: PrefixCode[][] = [];
  for (let g = 0; g < numGroups; g++) {
    groups.push([
      readPrefixCode(r, NUM_LITERALS + NUM_LENGTH_CODES + cacheSize, "green"),
      readPrefixCode(r, NUM_LITERALS, "red"),
      readPrefixCode(r, NUM_LITERALS, "blue"),
      readPrefixCode(r, NUM_LITERALS, "alpha"),
      readPrefixCode(r, NUM_DISTANCE_CODES, "distance"),
    ]);
  }
  const cache = new Uint32Array(cacheSize);
  const cacheShift = 32 - cacheBits;
  const total = width * height;
  const out = new Uint32Array(total);
  let inserted = 0;
  const insertUpTo = (end: number) => {
    for (; inserted < end; inserted++) {
      const p = out[inserted]!;
      cache[Math.imul(0x1e35a7bd, p) >>> cacheShift] = p;
    }
  };
  let pos = 0;
  while (pos < total) {
    const group =
      groupImage === undefined
        ? groups[0]!
        : groups[
            groupImage[((pos / width) >> groupBits) * groupsWide + ((pos % width) >> groupBits)]!
          ]!;
    const g = readSymbol(r, group[0]!);
    if (g < NUM_LITERALS) {
      const red = readSymbol(r, group[1]!);
      const blue = readSymbol(r, group[2]!);
      const a = readSymbol(r, group[3]!);
      out[pos++] = ((a << 24) | (red << 16) | (g << 8) | blue) >>> 0;
    } else if (g < NUM_LITERALS + NUM_LENGTH_CODES) {
      const lp = prefixBase(g - NUM_LITERALS);
      const length = lp.offset + r.read(lp.extraBits);
      const dp = prefixBase(readSymbol(r, group[4]!));
      const dist = distanceFromCode(dp.offset + r.read(dp.extraBits), width);
      if (dist > pos) {
        throw new ImageCodecError(
          `WebP backward reference at pixel ${pos} reaches ${dist} pixels back, before the start`,
        );
      }
      if (pos + length > total) {
        throw new ImageCodecError(
          `WebP backward reference at pixel ${pos} runs past the image end`,
        );
      }
      for (let k = 0; k < length; k++, pos++) out[pos] = out[pos - dist]!;
    } else {
      if (cacheSize === 0) {
        throw new ImageCodecError("WebP uses a colour cache symbol without a cache");
      }
      insertUpTo(pos);
      out[pos++] = cache[g - NUM_LITERALS - NUM_LENGTH_CODES]!;
    }
    if (cacheSize > 0 && g < NUM_LITERALS + NUM_LENGTH_CODES) insertUpTo(pos);
  }
  return out;
}

function inverseTransform(t: Transform, pixels: Uint32Array, height: number): Uint32Array {
  const width = t.width;
  switch (t.type) {
    case TRANSFORM_SUBTRACT_GREEN:
      for (let i = 0; i < pixels.length; i++) {
        const p = pixels[i]!;
        const g = (p >>> 8) & 255;
        pixels[i] = ((p & 0xff00ff00) | ((((p >>> 16) + g) & 255) << 16) | ((p + g) & 255)) >>> 0;
      }
      return pixels;
    case TRANSFORM_PREDICTOR: {
      const blocksWide = subsampled(width, t.bits);
      pixels[0] = addPixels(pixels[0]!, 0xff000000);
      for (let x = 1; x < width; x++) pixels[x] = addPixels(pixels[x]!, pixels[x - 1]!);
      for (let y = 1; y < height; y++) {
        const row = y * width;
        pixels[row] = addPixels(pixels[row]!, pixels[row - width]!);
        const modeRow = (y >> t.bits) * blocksWide;
        for (let x = 1; x < width; x++) {
          const i = row + x;
          const mode = (t.data[modeRow + (x >> t.bits)]! >>> 8) & 15;
          // Modes 14 and 15 are undefined; libwebp predicts black for them, and so do we.
          const p = predict(
            mode > 13 ? 0 : mode,
            pixels[i - 1]!,
            pixels[i - width]!,
            pixels[i - width - 1]!,
            pixels[i - width + 1]!,
          );
          pixels[i] = addPixels(pixels[i]!, p);
        }
      }
      return pixels;
    }
    case TRANSFORM_CROSS_COLOR: {
      const blocksWide = subsampled(width, t.bits);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const m = t.data[(y >> t.bits) * blocksWide + (x >> t.bits)]!;
          const i = y * width + x;
          const p = pixels[i]!;
          const g = (p >>> 8) & 255;
          const red = ((p >>> 16) + colorDelta(m & 255, g)) & 255;
          const blue =
            (p + colorDelta((m >>> 8) & 255, g) + colorDelta((m >>> 16) & 255, red)) & 255;
          pixels[i] = ((p & 0xff00ff00) | (red << 16) | blue) >>> 0;
        }
      }
      return pixels;
    }
    default: {
      const out = new Uint32Array(width * height);
      const packedWidth = subsampled(width, t.bits);
      const perByte = 1 << t.bits;
      const bitsPer = 8 >> t.bits;
      const mask = (1 << bitsPer) - 1;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const g = (pixels[y * packedWidth + (x >> t.bits)]! >>> 8) & 255;
          const index = (g >> ((x & (perByte - 1)) * bitsPer)) & mask;
          // Indices past the palette are transparent black, as RFC 9649 specifies.
          out[y * width + x] = t.palette[index] ?? 0;
        }
      }
      return out;
    }
  }
}

/** RFC 9649 ColorTransformDelta: both bytes read as signed, product / 32. */
function colorDelta(t: number, c: number): number {
  return (((t << 24) >> 24) * ((c << 24) >> 24)) >> 5;
}
