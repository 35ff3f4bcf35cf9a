import { inflateSync } from "node:zlib";
import { crc32 } from "./crc32.ts";
import { ImageCodecError } from "./errors.ts";
import { chunkTypeAt, latin1String, PNG_SIGNATURE } from "./png-chunks.ts";
import { type Header, PngRowConverter } from "./png-pixels.ts";
import { assertPixelLimit, DEFAULT_MAX_PIXELS, type RgbImage } from "./types.ts";

/** Options of `decodePng`. */
export interface PngDecodeOptions {
  /**
   * What to do with transparency (an alpha channel or a `tRNS` chunk). `"over-white"` (default)
   * composites each pixel over an opaque white background, so transparent areas come out white rather
   * than whatever colour happens to sit under alpha 0; `"drop"` ignores alpha and keeps the colour.
   */
  alpha?: "over-white" | "drop";
  /** Refuse images with more pixels than this before allocating. Default 2^26 (8192x8192). */
  maxPixels?: number;
}

/** A decoded PNG: RGB pixels plus the `tEXt`, `zTXt` and `iTXt` entries by keyword. */
export interface DecodedPng extends RgbImage {
  text: Record<string, string>;
}

/** Colour type -> [samples per pixel, allowed bit depths]. */
const COLOR_TYPES: Record<number, { channels: number; depths: readonly number[]; name: string }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16], name: "greyscale" },
  2: { channels: 3, depths: [8, 16], name: "RGB" },
  3: { channels: 1, depths: [1, 2, 4, 8], name: "palette" },
  4: { channels: 2, depths: [8, 16], name: "greyscale+alpha" },
  6: { channels: 4, depths: [8, 16], name: "RGBA" },
};

/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Cap on one decompressed zTXt/iTXt value, so that a small chunk cannot inflate without bound. */
const MAX_TEXT_BYTES = 16 * 1024 * 1024;

/**
 * Decodes a PNG to 8-bit RGB. Accepts every standard form: greyscale, greyscale+alpha, RGB, RGBA
 * and palette, at bit depths 1-16 (16-bit samples become `round(v / 257)`), interlaced (Adam7) or
 * not. Transparency, from an alpha channel or `tRNS`, is composited over white by default (see
 * `options.alpha`). Gamma, colour profiles and other ancillary chunks are ignored. Every chunk's CRC
 * is checked; corrupt input throws an `ImageCodecError` naming the chunk and byte offset.
 *
 * @example
 * const { width, height, data, text } = decodePng(bytes);
 * console.log(text.parameters);
 */
export function decodePng(bytes: Uint8Array, options: PngDecodeOptions = {}): DecodedPng {
  const { alpha = "over-white", maxPixels = DEFAULT_MAX_PIXELS } = options;
  if (bytes.length < 8) {
    throw new ImageCodecError(`PNG truncated at byte ${bytes.length}: the signature needs 8 bytes`);
  }
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== PNG_SIGNATURE[i]) {
      throw new ImageCodecError("Not a PNG: the 8-byte signature does not match");
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let idatEnded = false;
  const text: Record<string, string> = {};
  let sawEnd = false;

  let offset = 8;
  while (!sawEnd) {
    if (offset + 8 > bytes.length) {
      throw new ImageCodecError(
        `PNG truncated at byte ${bytes.length}: expected a chunk header at byte ${offset} (no IEND chunk)`,
      );
    }
    const length = view.getUint32(offset);
    const type = chunkTypeAt(bytes, offset + 4);
    if (!/^[A-Za-z]{4}$/.test(type)) {
      throw new ImageCodecError(
        `PNG chunk at byte ${offset} has an invalid type ${JSON.stringify(type)}`,
      );
    }
    if (length > 0x7fffffff) {
      throw new ImageCodecError(
        `PNG ${type} chunk at byte ${offset} declares length ${length}, over 2^31-1`,
      );
    }
    const dataStart = offset + 8;
    const dataEnd = dataStart + length;
    if (dataEnd + 4 > bytes.length) {
      throw new ImageCodecError(
        `PNG truncated at byte ${bytes.length}: ${type} chunk at byte ${offset} needs ${length + 12} bytes`,
      );
    }
    const stored = view.getUint32(dataEnd);
    const computed = crc32(bytes, offset + 4, dataEnd);
    if (stored !== computed) {
      throw new ImageCodecError(
        `PNG ${type} CRC mismatch at byte ${offset} (stored 0x${hex32(stored)}, computed 0x${hex32(computed)})`,
      );
    }
    const data = bytes.subarray(dataStart, dataEnd);
    if (header === undefined && type !== "IHDR") {
      throw new ImageCodecError(
        `PNG must start with an IHDR chunk, found ${type} at byte ${offset}`,
      );
    }
    if (idat.length > 0 && type !== "IDAT") idatEnded = true;

    switch (type) {
      case "IHDR":
        if (header !== undefined) {
          throw new ImageCodecError(`PNG has a second IHDR chunk at byte ${offset}`);
        }
        header = parseHeader(data, offset);
        assertPixelLimit("PNG", header.width, header.height, maxPixels);
        break;
      case "PLTE":
        if (length % 3 !== 0 || length === 0 || length > 768) {
          throw new ImageCodecError(
            `PNG PLTE chunk at byte ${offset} has length ${length}; it must be a multiple of 3 in [3, 768]`,
          );
        }
        palette = data;
        break;
      case "tRNS":
        transparency = data;
        break;
      case "IDAT":
        if (idatEnded) {
          throw new ImageCodecError(
            `PNG IDAT chunks must be consecutive; another starts at byte ${offset}`,
          );
        }
        idat.push(data);
        break;
      case "tEXt":
      case "zTXt":
      case "iTXt": {
        const [key, value] = parseText(type, data, offset);
        text[key] = value;
        break;
      }
      case "IEND":
        sawEnd = true;
        break;
      default:
        // Bit 5 of the first letter clear (upper case) marks a chunk the decoder must understand.
        if ((bytes[offset + 4]! & 0x20) === 0) {
          throw new ImageCodecError(`PNG has an unknown critical chunk ${type} at byte ${offset}`);
        }
    }
    offset = dataEnd + 4;
  }

  const hdr = header!;
  if (idat.length === 0) throw new ImageCodecError("PNG has no IDAT chunk");
  if (hdr.colorType === 3 && palette === undefined) {
    throw new ImageCodecError("PNG palette image has no PLTE chunk before its IDAT data");
  }
  const raw = inflateImageData(idat, hdr);
  const pixels = new PngRowConverter(
    hdr,
    palette,
    alpha === "drop" ? undefined : transparency,
    alpha,
  );
  const out = new Uint8Array(hdr.width * hdr.height * 3);
  if (hdr.interlaced) {
    let pos = 0;
    for (const [x0, y0, dx, dy] of ADAM7) {
      const pw = passSize(hdr.width, x0, dx);
      const ph = passSize(hdr.height, y0, dy);
      if (pw === 0 || ph === 0) continue;
      pos = unfilterPass(raw, pos, pw, ph, hdr, (row, y) => {
        pixels.writeRow(row, pw, out, ((y0 + y * dy) * hdr.width + x0) * 3, dx * 3);
      });
    }
  } else {
    unfilterPass(raw, 0, hdr.width, hdr.height, hdr, (row, y) => {
      pixels.writeRow(row, hdr.width, out, y * hdr.width * 3, 3);
    });
  }
  return { width: hdr.width, height: hdr.height, data: out, text };
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function parseHeader(data: Uint8Array, offset: number): Header {
  if (data.length !== 13) {
    throw new ImageCodecError(
      `PNG IHDR chunk at byte ${offset} has length ${data.length}, expected 13`,
    );
  }
  const view = new DataView(data.buffer, data.byteOffset, 13);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [bitDepth, colorType, compression, filter, interlace] = data.subarray(8, 13);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new ImageCodecError(
      `PNG IHDR size ${width}x${height} is invalid; both must be in [1, 2^31-1]`,
    );
  }
  const kind = COLOR_TYPES[colorType!];
  if (kind === undefined) throw new ImageCodecError(`PNG IHDR colour type ${colorType} is invalid`);
  if (!kind.depths.includes(bitDepth!)) {
    throw new ImageCodecError(
      `PNG IHDR bit depth ${bitDepth} is invalid for ${kind.name} (allowed: ${kind.depths.join(", ")})`,
    );
  }
  if (compression !== 0) {
    throw new ImageCodecError(`PNG IHDR compression method ${compression} is unknown`);
  }
  if (filter !== 0) throw new ImageCodecError(`PNG IHDR filter method ${filter} is unknown`);
  if (interlace !== 0 && interlace !== 1) {
    throw new ImageCodecError(`PNG IHDR interlace method ${interlace} is unknown`);
  }
  return {
    width,
    height,
    bitDepth: bitDepth!,
    colorType: colorType!,
    interlaced: interlace === 1,
    channels: kind.channels,
  };
}

function parseText(type: string, data: Uint8Array, offset: number): [string, string] {
  const keyEnd = data.indexOf(0);
  if (keyEnd < 1 || keyEnd > 79) {
    throw new ImageCodecError(
      `PNG ${type} chunk at byte ${offset} has no valid keyword (1-79 bytes then NUL)`,
    );
  }
  const key = latin1String(data, 0, keyEnd);
  if (type === "tEXt") return [key, latin1String(data, keyEnd + 1, data.length)];
  if (type === "zTXt") {
    if (data[keyEnd + 1] !== 0) {
      throw new ImageCodecError(
        `PNG zTXt chunk at byte ${offset} uses unknown compression ${data[keyEnd + 1]}`,
      );
    }
    const inflated = inflateText(data.subarray(keyEnd + 2), type, offset);
    return [key, latin1String(inflated, 0, inflated.length)];
  }
  // iTXt: compression flag, compression method, language tag \0, translated keyword \0, text.
  const compressed = data[keyEnd + 1];
  const method = data[keyEnd + 2];
  const langEnd = data.indexOf(0, keyEnd + 3);
  const transEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
  if (compressed === undefined || method === undefined || transEnd < 0) {
    throw new ImageCodecError(
      `PNG iTXt chunk at byte ${offset} is malformed (missing NUL separators)`,
    );
  }
  if (compressed > 1 || (compressed === 1 && method !== 0)) {
    throw new ImageCodecError(
      `PNG iTXt chunk at byte ${offset} uses unknown compression ${compressed}/${method}`,
    );
  }
  let body = data.subarray(transEnd + 1);
  if (compressed === 1) body = inflateText(body, type, offset);
  try {
    return [key, new TextDecoder("utf-8", { fatal: true }).decode(body)];
  } catch (error) {
    throw new ImageCodecError(`PNG iTXt chunk at byte ${offset} has invalid UTF-8 text`, {
      cause: error,
    });
  }
}

function inflateText(data: Uint8Array, type: string, offset: number): Uint8Array {
  try {
    return inflateSync(data, { maxOutputLength: MAX_TEXT_BYTES });
  } catch (error) {
    throw new ImageCodecError(
      `PNG ${type} chunk at byte ${offset} has a corrupt zlib stream or inflates past ${MAX_TEXT_BYTES} bytes`,
      { cause: error },
    );
  }
}

function passSize(size: number, start: number, step: number): number {
  return size > start ? Math.ceil((size - start) / step) : 0;
}

function rowBytes(width: number, hdr: Header): number {
  return Math.ceil((width * hdr.channels * hdr.bitDepth) / 8);
}

function inflateImageData(idat: Uint8Array[], hdr: Header): Uint8Array {
  let expected = 0;
  if (hdr.interlaced) {
    for (const [x0, y0, dx, dy] of ADAM7) {
      const pw = passSize(hdr.width, x0, dx);
      const ph = passSize(hdr.height, y0, dy);
      if (pw > 0 && ph > 0) expected += ph * (1 + rowBytes(pw, hdr));
    }
  } else {
    expected = hdr.height * (1 + rowBytes(hdr.width, hdr));
  }
  const joined = idat.length === 1 ? idat[0]! : Buffer.concat(idat);
  let raw: Uint8Array;
  try {
    // One byte of slack lets us tell "too much data" from "exactly enough" without unbounded growth.
    raw = inflateSync(joined, { maxOutputLength: expected + 1 });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason =
      code === "ERR_BUFFER_TOO_LARGE"
        ? `inflates to more than the ${expected} bytes a ${hdr.width}x${hdr.height} image needs`
        : `zlib stream is corrupt or truncated (${(error as Error).message})`;
    throw new ImageCodecError(`PNG IDAT ${reason}`, { cause: error });
  }
  if (raw.length !== expected) {
    throw new ImageCodecError(
      `PNG IDAT data is ${raw.length} bytes after inflating, expected ${expected} for ` +
        `${hdr.width}x${hdr.height} ${COLOR_TYPES[hdr.colorType]!.name} ${hdr.bitDepth}-bit` +
        (hdr.interlaced ? " interlaced" : ""),
    );
  }
  return raw;
}

/** Undoes the row filters of one (sub)image in place, calling `onRow` with each unfiltered row. */
function unfilterPass(
  raw: Uint8Array,
  start: number,
  width: number,
  height: number,
  hdr: Header,
  onRow: (row: Uint8Array, y: number) => void,
): number {
  const stride = rowBytes(width, hdr);
  const bpp = Math.max(1, (hdr.channels * hdr.bitDepth) >> 3);
  let prev: Uint8Array = new Uint8Array(stride);
  let pos = start;
  for (let y = 0; y < height; y++) {
    const filter = raw[pos]!;
    const row = raw.subarray(pos + 1, pos + 1 + stride);
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < stride; i++) row[i] = (row[i]! + row[i - bpp]!) & 0xff;
        break;
      case 2:
        for (let i = 0; i < stride; i++) row[i] = (row[i]! + prev[i]!) & 0xff;
        break;
      case 3:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? row[i - bpp]! : 0;
          row[i] = (row[i]! + ((a + prev[i]!) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? row[i - bpp]! : 0;
          const c = i >= bpp ? prev[i - bpp]! : 0;
          row[i] = (row[i]! + paeth(a, prev[i]!, c)) & 0xff;
        }
        break;
      default:
        throw new ImageCodecError(
          `PNG row ${y} has invalid filter type ${filter} (at inflated byte ${pos})`,
        );
    }
    onRow(row, y);
    prev = row;
    pos += 1 + stride;
  }
  return pos;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
