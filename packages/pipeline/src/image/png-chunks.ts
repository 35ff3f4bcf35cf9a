import { crc32 } from "./crc32.ts";
import { ImageCodecError } from "./errors.ts";

/** The 8 bytes every PNG starts with. */
export const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Chunk type as the 4 ASCII letters of `bytes[offset, offset + 4)`. */
export function chunkTypeAt(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(
    bytes[offset]!,
    bytes[offset + 1]!,
    bytes[offset + 2]!,
    bytes[offset + 3]!,
  );
}

/** Builds `length | type | data | crc` for one chunk. */
export function buildChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** True when every UTF-16 unit of `s` fits in one ISO 8859-1 byte. */
export function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** ISO 8859-1 bytes of a string already checked with `isLatin1`. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Decodes ISO 8859-1 bytes (every byte is the code point of the same value). */
export function latin1String(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  // Chunked so that long text values do not overflow the argument limit of fromCharCode.
  for (let i = start; i < end; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 8192)));
  }
  return s;
}

/**
 * Checks a tEXt/iTXt keyword against the PNG rules: 1-79 Latin-1 characters, printable only
 * (32-126, 161-255), no leading, trailing or consecutive spaces.
 */
export function assertPngKeyword(key: string): void {
  if (key.length < 1 || key.length > 79) {
    throw new ImageCodecError(
      `encodePng: text key must be 1-79 characters, got ${key.length} (${JSON.stringify(key.slice(0, 90))})`,
    );
  }
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (!((c >= 32 && c <= 126) || (c >= 161 && c <= 255))) {
      throw new ImageCodecError(
        `encodePng: text key ${JSON.stringify(key)} has character U+${c.toString(16).padStart(4, "0")} ` +
          "at index " +
          i +
          "; keys must be printable Latin-1 (32-126, 161-255)",
      );
    }
  }
  if (key.startsWith(" ") || key.endsWith(" ") || key.includes("  ")) {
    throw new ImageCodecError(
      `encodePng: text key ${JSON.stringify(key)} must not have leading, trailing or consecutive spaces`,
    );
  }
}
