import { ImageCodecError } from "./errors.ts";

/** The IHDR fields the row converter needs. */
export interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
  channels: number;
}

/** Turns unfiltered rows of any colour type and depth into RGB bytes. */
export class PngRowConverter {
  private readonly hdr: Header;
  private readonly composite: boolean;
  private readonly samples: Uint16Array;
  private readonly max: number;
  /** RGBA per palette index, alpha 255 where tRNS has no entry. */
  private readonly paletteRgba: Uint8Array;
  private readonly paletteSize: number;
  /** Greyscale or RGB sample values (at file depth) that tRNS marks fully transparent. */
  private readonly transparentKey: readonly number[] | undefined;

  /** `transparency` is the tRNS chunk, or undefined when absent or ignored. */
  constructor(
    hdr: Header,
    palette: Uint8Array | undefined,
    transparency: Uint8Array | undefined,
    alpha: "over-white" | "drop",
  ) {
    this.hdr = hdr;
    this.composite = alpha === "over-white";
    this.samples = new Uint16Array(hdr.width * hdr.channels);
    this.max = 2 ** hdr.bitDepth - 1;
    this.paletteRgba = new Uint8Array(256 * 4);
    this.paletteSize = palette === undefined ? 0 : palette.length / 3;
    for (let i = 0; i < this.paletteSize; i++) {
      this.paletteRgba.set(palette!.subarray(i * 3, i * 3 + 3), i * 4);
      this.paletteRgba[i * 4 + 3] = transparency?.[i] ?? 255;
    }
    const keyLength = hdr.colorType === 0 ? 2 : hdr.colorType === 2 ? 6 : 0;
    if (transparency !== undefined && keyLength > 0 && transparency.length === keyLength) {
      const view = new DataView(transparency.buffer, transparency.byteOffset, keyLength);
      this.transparentKey = Array.from(
        { length: keyLength / 2 },
        (_, i) => view.getUint16(i * 2) & this.max,
      );
    }
  }

  writeRow(row: Uint8Array, width: number, out: Uint8Array, start: number, step: number): void {
    const { hdr } = this;
    const n = width * hdr.channels;
    const s = this.samples;
    if (hdr.bitDepth === 8) {
      for (let i = 0; i < n; i++) s[i] = row[i]!;
    } else if (hdr.bitDepth === 16) {
      for (let i = 0; i < n; i++) s[i] = (row[2 * i]! << 8) | row[2 * i + 1]!;
    } else {
      const depth = hdr.bitDepth;
      const perByte = 8 / depth;
      for (let i = 0; i < n; i++) {
        const byte = row[Math.floor(i / perByte)]!;
        s[i] = (byte >> (8 - depth * ((i % perByte) + 1))) & this.max;
      }
    }
    const max = this.max;
    const composite = this.composite;
    let o = start;
    switch (hdr.colorType) {
      case 0:
        for (let x = 0; x < width; x++, o += step) {
          const v = s[x]!;
          const g = this.transparentKey?.[0] === v && composite ? 255 : scale(v, max);
          out[o] = g;
          out[o + 1] = g;
          out[o + 2] = g;
        }
        break;
      case 2:
        for (let x = 0; x < width; x++, o += step) {
          const r = s[3 * x]!;
          const g = s[3 * x + 1]!;
          const b = s[3 * x + 2]!;
          const key = this.transparentKey;
          const clear =
            composite && key !== undefined && key[0] === r && key[1] === g && key[2] === b;
          out[o] = clear ? 255 : scale(r, max);
          out[o + 1] = clear ? 255 : scale(g, max);
          out[o + 2] = clear ? 255 : scale(b, max);
        }
        break;
      case 3: {
        const pal = this.paletteRgba!;
        for (let x = 0; x < width; x++, o += step) {
          const index = s[x]!;
          if (index >= this.paletteSize) {
            throw new ImageCodecError(
              `PNG pixel uses palette index ${index} but PLTE has only ${this.paletteSize} entries`,
            );
          }
          const a = composite ? pal[index * 4 + 3]! : 255;
          out[o] = over(pal[index * 4]!, a, 255);
          out[o + 1] = over(pal[index * 4 + 1]!, a, 255);
          out[o + 2] = over(pal[index * 4 + 2]!, a, 255);
        }
        break;
      }
      case 4:
        for (let x = 0; x < width; x++, o += step) {
          const g = composite ? over(s[2 * x]!, s[2 * x + 1]!, max) : scale(s[2 * x]!, max);
          out[o] = g;
          out[o + 1] = g;
          out[o + 2] = g;
        }
        break;
      default:
        for (let x = 0; x < width; x++, o += step) {
          const a = s[4 * x + 3]!;
          for (let c = 0; c < 3; c++) {
            const v = s[4 * x + c]!;
            out[o + c] = composite ? over(v, a, max) : scale(v, max);
          }
        }
    }
  }
}

/** Sample at depth `max` -> 8 bits, rounded (16-bit v -> round(v / 257)). */
function scale(v: number, max: number): number {
  return max === 255 ? v : Math.round((v * 255) / max);
}

/** Colour `c` with alpha `a` (both in [0, max]) over white, as an 8-bit value. */
function over(c: number, a: number, max: number): number {
  if (a === max) return scale(c, max);
  return Math.round(((c * a + max * (max - a)) * 255) / (max * max));
}
