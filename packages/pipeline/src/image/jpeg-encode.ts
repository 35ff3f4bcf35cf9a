import { ImageCodecError } from "./errors.ts";
import {
  AC_CHROMA,
  AC_LUMA,
  CHROMA_QUANT,
  canonicalCodes,
  DC_CHROMA,
  DC_LUMA,
  DCT_BASIS,
  type HuffmanSpec,
  LUMA_QUANT,
  scaleQuantTable,
  ZIGZAG,
} from "./jpeg-tables.ts";
import { assertRgbImage, type RgbImage } from "./types.ts";

/** Options of `encodeJpeg`. */
export interface JpegEncodeOptions {
  /**
   * Chroma subsampling. `"4:2:0"` (default, as libjpeg and Pillow) stores colour at half resolution
   * in both directions; `"4:4:4"` keeps full-resolution colour for sharper edges and larger files.
   */
  subsampling?: "4:2:0" | "4:4:4";
  /** Written as a COM segment (UTF-8, at most 65533 bytes), e.g. the generation parameters. */
  comment?: string;
}

/**
 * Encodes a baseline JFIF JPEG (YCbCr, 8-bit, Huffman-coded with the Annex K tables). `quality`
 * (1-100, default 90) scales the Annex K quantisation tables exactly as libjpeg does, so quality 75
 * here gives the same tables as Pillow's quality 75.
 *
 * @example
 * const jpg = encodeJpeg(img, 85, { subsampling: "4:4:4" });
 */
export function encodeJpeg(
  img: RgbImage,
  quality = 90,
  options: JpegEncodeOptions = {},
): Uint8Array {
  assertRgbImage(img, "encodeJpeg");
  const { subsampling = "4:2:0", comment } = options;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new ImageCodecError(`encodeJpeg: quality must be an integer in [1, 100], got ${quality}`);
  }
  if (subsampling !== "4:2:0" && subsampling !== "4:4:4") {
    throw new ImageCodecError(
      `encodeJpeg: subsampling must be "4:2:0" or "4:4:4", got ${String(subsampling)}`,
    );
  }
  if (img.width > 65535 || img.height > 65535) {
    throw new ImageCodecError(
      `encodeJpeg: width and height must be at most 65535, got ${img.width}x${img.height}`,
    );
  }
  const commentBytes = comment === undefined ? undefined : new TextEncoder().encode(comment);
  if (commentBytes !== undefined && commentBytes.length > 65533) {
    throw new ImageCodecError(
      `encodeJpeg: comment must be at most 65533 bytes in UTF-8, got ${commentBytes.length}`,
    );
  }

  const lumaQ = scaleQuantTable(LUMA_QUANT, quality);
  const chromaQ = scaleQuantTable(CHROMA_QUANT, quality);
  const out = new ByteWriter(1024 + img.width * img.height);
  out.u16(0xffd8); // SOI
  writeJfif(out);
  if (commentBytes !== undefined) {
    out.u16(0xfffe);
    out.u16(commentBytes.length + 2);
    out.bytes(commentBytes);
  }
  writeQuantTables(out, lumaQ, chromaQ);
  const sub = subsampling === "4:2:0" ? 2 : 1;
  writeFrameHeader(out, img.width, img.height, sub);
  writeHuffmanTables(out);
  writeScanHeader(out);
  encodeScan(out, img, sub, lumaQ, chromaQ);
  out.u16(0xffd9); // EOI
  return out.result();
}

class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }

  u16(v: number): void {
    this.byte(v >> 8);
    this.byte(v & 0xff);
  }

  bytes(data: ArrayLike<number>): void {
    if (this.length + data.length > this.buf.length) this.grow(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  private grow(extra: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + extra));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

function writeJfif(out: ByteWriter): void {
  out.u16(0xffe0);
  out.u16(16);
  out.bytes([0x4a, 0x46, 0x49, 0x46, 0]); // "JFIF\0"
  out.bytes([1, 1]); // version 1.01
  out.bytes([0, 0, 1, 0, 1, 0, 0]); // aspect-ratio units, 1:1 density, no thumbnail
}

function writeQuantTables(out: ByteWriter, luma: Uint16Array, chroma: Uint16Array): void {
  out.u16(0xffdb);
  out.u16(2 + 2 * 65);
  for (const [id, table] of [luma, chroma].entries()) {
    out.byte(id); // 8-bit precision, table id
    for (let k = 0; k < 64; k++) out.byte(table[ZIGZAG[k]!]!);
  }
}

function writeFrameHeader(out: ByteWriter, width: number, height: number, sub: number): void {
  out.u16(0xffc0); // SOF0: baseline
  out.u16(8 + 3 * 3);
  out.byte(8);
  out.u16(height);
  out.u16(width);
  out.byte(3);
  out.bytes([1, (sub << 4) | sub, 0]); // Y: sampling sub x sub, quant table 0
  out.bytes([2, 0x11, 1]); // Cb
  out.bytes([3, 0x11, 1]); // Cr
}

function writeHuffmanTables(out: ByteWriter): void {
  const tables: [number, HuffmanSpec][] = [
    [0x00, DC_LUMA],
    [0x10, AC_LUMA],
    [0x01, DC_CHROMA],
    [0x11, AC_CHROMA],
  ];
  out.u16(0xffc4);
  out.u16(2 + tables.reduce((n, [, t]) => n + 17 + t.symbols.length, 0));
  for (const [id, table] of tables) {
    out.byte(id);
    out.bytes(table.counts);
    out.bytes(table.symbols);
  }
}

function writeScanHeader(out: ByteWriter): void {
  out.u16(0xffda);
  out.u16(6 + 2 * 3);
  out.byte(3);
  out.bytes([1, 0x00, 2, 0x11, 3, 0x11]); // component id, DC table << 4 | AC table
  out.bytes([0, 63, 0]); // spectral selection 0-63, no successive approximation
}

/** Emits Huffman-coded bits MSB first, stuffing a zero byte after every 0xFF. */
class BitWriter {
  private acc = 0;
  private count = 0;

  constructor(private readonly out: ByteWriter) {}

  write(code: number, length: number): void {
    this.acc = (this.acc << length) | code;
    this.count += length;
    while (this.count >= 8) {
      const byte = (this.acc >>> (this.count - 8)) & 0xff;
      this.out.byte(byte);
      if (byte === 0xff) this.out.byte(0);
      this.count -= 8;
    }
    this.acc &= (1 << this.count) - 1;
  }

  /** Pads the last byte with one bits, as T.81 F.1.2.3 asks. */
  flush(): void {
    if (this.count > 0) this.write((1 << (8 - this.count)) - 1, 8 - this.count);
  }
}

interface CodedComponent {
  dc: ReturnType<typeof canonicalCodes>;
  ac: ReturnType<typeof canonicalCodes>;
  quant: Float64Array;
  pred: number;
}

function encodeScan(
  out: ByteWriter,
  img: RgbImage,
  sub: number,
  lumaQ: Uint16Array,
  chromaQ: Uint16Array,
): void {
  const { width, height, data } = img;
  const mcu = 8 * sub;
  const paddedW = Math.ceil(width / mcu) * mcu;
  const paddedH = Math.ceil(height / mcu) * mcu;
  // Colour conversion over the padded area; edge pixels are repeated so padding costs few bits.
  const yPlane = new Float32Array(paddedW * paddedH);
  const cbPlane = new Float32Array(paddedW * paddedH);
  const crPlane = new Float32Array(paddedW * paddedH);
  for (let y = 0; y < paddedH; y++) {
    const sy = Math.min(y, height - 1);
    for (let x = 0; x < paddedW; x++) {
      const i = (sy * width + Math.min(x, width - 1)) * 3;
      const r = data[i]!;
      const g = data[i + 1]!;
      const b = data[i + 2]!;
      const o = y * paddedW + x;
      // JFIF YCbCr, already level-shifted by -128.
      yPlane[o] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
      cbPlane[o] = -0.168735892 * r - 0.331264108 * g + 0.5 * b;
      crPlane[o] = 0.5 * r - 0.418687589 * g - 0.081312411 * b;
    }
  }
  const chromaW = paddedW / sub;
  const cb = sub === 1 ? cbPlane : downsample2x2(cbPlane, paddedW, paddedH);
  const cr = sub === 1 ? crPlane : downsample2x2(crPlane, paddedW, paddedH);

  const reciprocal = (q: Uint16Array) => Float64Array.from(q, (v) => 1 / v);
  const luma: CodedComponent = {
    dc: canonicalCodes(DC_LUMA),
    ac: canonicalCodes(AC_LUMA),
    quant: reciprocal(lumaQ),
    pred: 0,
  };
  const chromaDc = canonicalCodes(DC_CHROMA);
  const chromaAc = canonicalCodes(AC_CHROMA);
  const cbComp: CodedComponent = {
    dc: chromaDc,
    ac: chromaAc,
    quant: reciprocal(chromaQ),
    pred: 0,
  };
  const crComp: CodedComponent = { dc: chromaDc, ac: chromaAc, quant: cbComp.quant, pred: 0 };

  const bits = new BitWriter(out);
  const block = new Float64Array(64);
  const coefs = new Int16Array(64);
  for (let my = 0; my < paddedH; my += mcu) {
    for (let mx = 0; mx < paddedW; mx += mcu) {
      for (let by = 0; by < sub; by++) {
        for (let bx = 0; bx < sub; bx++) {
          loadBlock(yPlane, paddedW, mx + bx * 8, my + by * 8, block);
          encodeBlock(bits, block, coefs, luma);
        }
      }
      loadBlock(cb, chromaW, mx / sub, my / sub, block);
      encodeBlock(bits, block, coefs, cbComp);
      loadBlock(cr, chromaW, mx / sub, my / sub, block);
      encodeBlock(bits, block, coefs, crComp);
    }
  }
  bits.flush();
}

/** Averages each 2x2 square (both plane dimensions are even here). */
function downsample2x2(plane: Float32Array, width: number, height: number): Float32Array {
  const w = width / 2;
  const out = new Float32Array(w * (height / 2));
  for (let y = 0; y < height / 2; y++) {
    for (let x = 0; x < w; x++) {
      const i = 2 * y * width + 2 * x;
      out[y * w + x] = (plane[i]! + plane[i + 1]! + plane[i + width]! + plane[i + width + 1]!) / 4;
    }
  }
  return out;
}

function loadBlock(
  plane: Float32Array,
  stride: number,
  x0: number,
  y0: number,
  block: Float64Array,
): void {
  for (let y = 0; y < 8; y++) {
    const row = (y0 + y) * stride + x0;
    for (let x = 0; x < 8; x++) block[y * 8 + x] = plane[row + x]!;
  }
}

const tmp = new Float64Array(64);

/** Forward DCT (separable, orthonormal basis), quantisation, and Huffman coding of one block. */
function encodeBlock(
  bits: BitWriter,
  block: Float64Array,
  coefs: Int16Array,
  comp: CodedComponent,
): void {
  const m = DCT_BASIS;
  // Rows: tmp[y][u] = sum_x m[u][x] * block[y][x]
  for (let y = 0; y < 8; y++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let x = 0; x < 8; x++) s += m[u * 8 + x]! * block[y * 8 + x]!;
      tmp[y * 8 + u] = s;
    }
  }
  // Columns: F[v][u] = sum_y m[v][y] * tmp[y][u], then quantise.
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let y = 0; y < 8; y++) s += m[v * 8 + y]! * tmp[y * 8 + u]!;
      coefs[v * 8 + u] = Math.round(s * comp.quant[v * 8 + u]!);
    }
  }

  const dc = coefs[0]!;
  writeValue(bits, dc - comp.pred, comp.dc, 0);
  comp.pred = dc;
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = coefs[ZIGZAG[k]!]!;
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      bits.write(comp.ac.codes[0xf0]!, comp.ac.lengths[0xf0]!); // ZRL: 16 zeros
      run -= 16;
    }
    writeValue(bits, v, comp.ac, run << 4);
    run = 0;
  }
  if (run > 0) bits.write(comp.ac.codes[0]!, comp.ac.lengths[0]!); // EOB
}

/** Writes the Huffman code of `(prefix | size)` then `size` bits of `value` (T.81 F.1.2.1). */
function writeValue(
  bits: BitWriter,
  value: number,
  table: ReturnType<typeof canonicalCodes>,
  prefix: number,
): void {
  const magnitude = Math.abs(value);
  let size = 0;
  while (magnitude >> size) size++;
  const symbol = prefix | size;
  bits.write(table.codes[symbol]!, table.lengths[symbol]!);
  if (size > 0) bits.write(value < 0 ? value + (1 << size) - 1 : value, size);
}
