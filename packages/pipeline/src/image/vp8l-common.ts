import { clampByte } from "./clamp.ts";

/**
 * Pieces of the WebP lossless (VP8L) format that the encoder and decoder share, from RFC 9649:
 * alphabet sizes, the order of code-length codes, LZ77 prefix coding, the 2-D distance map and the
 * predictor functions.
 */

export const VP8L_SIGNATURE = 0x2f;
export const NUM_LITERALS = 256;
export const NUM_LENGTH_CODES = 24;
export const NUM_DISTANCE_CODES = 40;
export const MAX_CODE_LENGTH = 15;
export const MAX_DIMENSION = 16384;

/** The order in which the 19 code-length code lengths are stored. */
export const CODE_LENGTH_ORDER = [
  17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
] as const;

export const TRANSFORM_PREDICTOR = 0;
export const TRANSFORM_CROSS_COLOR = 1;
export const TRANSFORM_SUBTRACT_GREEN = 2;
export const TRANSFORM_COLOR_INDEXING = 3;

/** Prefix code and extra bits of an LZ77 length or distance value (>= 1). */
export function prefixEncode(value: number): { prefix: number; extraBits: number; extra: number } {
  if (value <= 4) return { prefix: value - 1, extraBits: 0, extra: 0 };
  const v = value - 1;
  const highest = 31 - Math.clz32(v);
  const second = (v >> (highest - 1)) & 1;
  const extraBits = highest - 1;
  return { prefix: 2 * highest + second, extraBits, extra: v & ((1 << extraBits) - 1) };
}

/** Number of extra bits that follow `prefix`, and the value it starts at. */
export function prefixBase(prefix: number): { extraBits: number; offset: number } {
  if (prefix < 4) return { extraBits: 0, offset: prefix + 1 };
  const extraBits = (prefix - 2) >> 1;
  return { extraBits, offset: ((2 + (prefix & 1)) << extraBits) + 1 };
}

/**
 * RFC 9649's 120 short distance codes as (dy << 4) | (8 - dx) for the neighbour dx columns left
 * and dy rows up; code c >= 1 uses entry c - 1, and codes above 120 mean a plain distance c - 120.
 */
const DISTANCE_MAP = [
  0x18, 0x07, 0x17, 0x19, 0x28, 0x06, 0x27, 0x29, 0x16, 0x1a, 0x26, 0x2a, 0x38, 0x05, 0x37, 0x39,
  0x15, 0x1b, 0x36, 0x3a, 0x25, 0x2b, 0x48, 0x04, 0x47, 0x49, 0x14, 0x1c, 0x35, 0x3b, 0x46, 0x4a,
  0x24, 0x2c, 0x58, 0x45, 0x4b, 0x34, 0x3c, 0x03, 0x57, 0x59, 0x13, 0x1d, 0x56, 0x5a, 0x23, 0x2d,
  0x44, 0x4c, 0x55, 0x5b, 0x33, 0x3d, 0x68, 0x02, 0x67, 0x69, 0x12, 0x1e, 0x66, 0x6a, 0x22, 0x2e,
  0x54, 0x5c, 0x43, 0x4d, 0x65, 0x6b, 0x32, 0x3e, 0x78, 0x01, 0x77, 0x79, 0x53, 0x5d, 0x11, 0x1f,
  0x64, 0x6c, 0x42, 0x4e, 0x76, 0x7a, 0x21, 0x2f, 0x75, 0x7b, 0x31, 0x3f, 0x63, 0x6d, 0x52, 0x5e,
  0x00, 0x74, 0x7c, 0x41, 0x4f, 0x10, 0x20, 0x62, 0x6e, 0x30, 0x73, 0x7d, 0x51, 0x5f, 0x40, 0x72,
  0x7e, 0x61, 0x6f, 0x50, 0x71, 0x7f, 0x60, 0x70,
] as const;

/** Pixel distance that a distance code stands for in an image `width` pixels wide. */
export function distanceFromCode(code: number, width: number): number {
  if (code > 120) return code - 120;
  const packed = DISTANCE_MAP[code - 1]!;
  const dist = (packed >> 4) * width + (8 - (packed & 15));
  return Math.max(1, dist);
}

/** Distance code for the pixel directly above (RFC 9649: (0, 1) is the first entry). */
export const DISTANCE_CODE_UP = 1;
/** Distance code for the pixel to the left ((1, 0), the second entry). */
export const DISTANCE_CODE_LEFT = 2;

function average2(a: number, b: number): number {
  // Per-channel floor((a + b) / 2) on packed ARGB without unpacking.
  return ((((a ^ b) & 0xfefefefe) >>> 1) + (a & b)) >>> 0;
}

function select(l: number, t: number, tl: number): number {
  // Manhattan distance of the gradient estimate L + T - TL to L and to T; RFC 9649 section 4.1.
  let pl = 0;
  let pt = 0;
  for (let s = 0; s < 32; s += 8) {
    const a = (l >>> s) & 255;
    const b = (t >>> s) & 255;
    const c = (tl >>> s) & 255;
    pl += Math.abs(b - c); // |(a + b - c) - a|
    pt += Math.abs(a - c); // |(a + b - c) - b|
  }
  return pl < pt ? l : t;
}

function clampAddSubtractFull(a: number, b: number, c: number): number {
  let out = 0;
  for (let s = 0; s < 32; s += 8) {
    out |= clampByte(((a >>> s) & 255) + ((b >>> s) & 255) - ((c >>> s) & 255)) << s;
  }
  return out >>> 0;
}

function clampAddSubtractHalf(a: number, b: number): number {
  let out = 0;
  for (let s = 0; s < 32; s += 8) {
    const x = (a >>> s) & 255;
    const y = (b >>> s) & 255;
    out |= clampByte(x + Math.trunc((x - y) / 2)) << s;
  }
  return out >>> 0;
}

/**
 * Prediction of predictor mode `mode` (0-13) from the left, top, top-left and top-right pixels,
 * all packed ARGB.
 */
export function predict(mode: number, l: number, t: number, tl: number, tr: number): number {
  switch (mode) {
    case 0:
      return 0xff000000;
    case 1:
      return l;
    case 2:
      return t;
    case 3:
      return tr;
    case 4:
      return tl;
    case 5:
      return average2(average2(l, tr), t);
    case 6:
      return average2(l, tl);
    case 7:
      return average2(l, t);
    case 8:
      return average2(tl, t);
    case 9:
      return average2(t, tr);
    case 10:
      return average2(average2(l, tl), average2(t, tr));
    case 11:
      return select(l, t, tl);
    case 12:
      return clampAddSubtractFull(l, t, tl);
    default:
      return clampAddSubtractHalf(average2(l, t), tl);
  }
}

/** Per-channel (a + b) mod 256 on packed ARGB. */
export function addPixels(a: number, b: number): number {
  const ag = ((a & 0xff00ff00) >>> 0) + ((b & 0xff00ff00) >>> 0);
  const rb = (a & 0x00ff00ff) + (b & 0x00ff00ff);
  return ((ag & 0xff00ff00) | (rb & 0x00ff00ff)) >>> 0;
}

/** Per-channel (a - b) mod 256 on packed ARGB. */
export function subPixels(a: number, b: number): number {
  const ag = 0x00ff00ff + ((a & 0xff00ff00) >>> 0) - ((b & 0xff00ff00) >>> 0);
  const rb = 0xff00ff00 + (a & 0x00ff00ff) - (b & 0x00ff00ff);
  return ((ag & 0xff00ff00) | (rb & 0x00ff00ff)) >>> 0;
}
