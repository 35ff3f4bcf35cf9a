import { clampByte } from "./clamp.ts";
import { ImageCodecError } from "./errors.ts";
import { DCT_BASIS, ZIGZAG } from "./jpeg-tables.ts";
import { assertPixelLimit, DEFAULT_MAX_PIXELS, type RgbImage } from "./types.ts";

/** Options of `decodeJpeg`. */
export interface JpegDecodeOptions {
  /** Refuse images with more pixels than this before allocating. Default 2^26 (8192x8192). */
  maxPixels?: number;
}

interface HuffmanTable {
  /** Codes of up to 9 bits, indexed by the next 9 bits: `length << 8 | symbol`, 0 when longer. */
  lookup: Uint16Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  symbols: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  quantId: number;
  /** Quantisation table latched when the component's first scan starts (T.81 B.2.4.1). */
  quant: Uint16Array | undefined;
  blocksPerLine: number;
  blocksPerColumn: number;
  /** Blocks per line / column including the padding to whole MCUs. */
  paddedBlocksPerLine: number;
  paddedBlocksPerColumn: number;
  coefs: Int16Array;
  pred: number;
  dcTable: HuffmanTable | undefined;
  acTable: HuffmanTable | undefined;
}

interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  hmax: number;
  vmax: number;
  mcusPerLine: number;
  mcusPerColumn: number;
  components: Component[];
}

const SOF_NAMES: Record<number, string> = {
  195: "lossless (SOF3)",
  197: "differential sequential (SOF5)",
  198: "differential progressive (SOF6)",
  199: "differential lossless (SOF7)",
  201: "arithmetic-coded sequential (SOF9)",
  202: "arithmetic-coded progressive (SOF10)",
  203: "arithmetic-coded lossless (SOF11)",
  205: "arithmetic-coded differential sequential (SOF13)",
  206: "arithmetic-coded differential progressive (SOF14)",
  207: "arithmetic-coded differential lossless (SOF15)",
};

/**
 * Decodes a JPEG to 8-bit RGB: baseline, extended sequential and progressive Huffman-coded files
 * with 8-bit samples; greyscale, YCbCr, RGB (Adobe transform 0) and CMYK/YCCK (Adobe) colour; any
 * sampling factors, with libjpeg's "fancy" triangle upsampling for the usual 2x1 and 2x2 chroma;
 * restart intervals. Arithmetic coding, lossless/hierarchical modes and 12-bit samples throw an
 * `ImageCodecError` saying so. EXIF orientation is not applied.
 *
 * @example
 * const img = decodeJpeg(await readFile("photo.jpg"));
 */
export function decodeJpeg(bytes: Uint8Array, options: JpegDecodeOptions = {}): RgbImage {
  const { maxPixels = DEFAULT_MAX_PIXELS } = options;
  if (bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new ImageCodecError("Not a JPEG: missing SOI marker (FF D8) at byte 0");
  }
  const quantTables: (Uint16Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  let adobeTransform: number | undefined;
  let scans = 0;

  let pos = 2;
  for (;;) {
    if (pos >= bytes.length) {
      // A missing EOI after complete scans is common and harmless; libjpeg accepts it too.
      if (scans > 0) break;
      throw new ImageCodecError(
        `JPEG truncated at byte ${bytes.length}: no image data (SOS) found`,
      );
    }
    if (bytes[pos] !== 0xff) {
      throw new ImageCodecError(
        `JPEG expected a marker at byte ${pos}, found 0x${bytes[pos]!.toString(16).padStart(2, "0")}`,
      );
    }
    const markerPos = pos;
    while (bytes[pos] === 0xff) pos++; // fill bytes
    const marker = 0xff00 | (bytes[pos++] ?? 0);
    if (marker === 0xffd9) break; // EOI
    if ((marker >= 0xffd0 && marker <= 0xffd7) || marker === 0xff01) continue; // stray RST / TEM
    if (marker === 0xffd8)
      throw new ImageCodecError(`JPEG has a second SOI marker at byte ${markerPos}`);
    if (pos + 2 > bytes.length) {
      throw new ImageCodecError(
        `JPEG truncated at byte ${bytes.length}: segment length missing after marker at byte ${markerPos}`,
      );
    }
    const length = (bytes[pos]! << 8) | bytes[pos + 1]!;
    const name = `marker 0x${marker.toString(16).toUpperCase()}`;
    if (length < 2)
      throw new ImageCodecError(`JPEG ${name} at byte ${markerPos} has invalid length ${length}`);
    if (pos + length > bytes.length) {
      throw new ImageCodecError(
        `JPEG truncated at byte ${bytes.length}: ${name} segment at byte ${markerPos} needs ${length + 2} bytes`,
      );
    }
    const seg = bytes.subarray(pos + 2, pos + length);
    pos += length;
    switch (marker) {
      case 0xffdb:
        readQuantTables(seg, quantTables, markerPos);
        break;
      case 0xffc4:
        readHuffmanTables(seg, dcTables, acTables, markerPos);
        break;
      case 0xffc0:
      case 0xffc1:
      case 0xffc2:
        if (frame !== undefined)
          throw new ImageCodecError(`JPEG has a second frame header at byte ${markerPos}`);
        frame = readFrame(seg, marker === 0xffc2, markerPos, maxPixels);
        break;
      case 0xffdd:
        if (seg.length !== 2)
          throw new ImageCodecError(
            `JPEG DRI segment at byte ${markerPos} has length ${length}, expected 4`,
          );
        restartInterval = (seg[0]! << 8) | seg[1]!;
        break;
      case 0xffee:
        // Adobe APP14: "Adobe", version, flags0, flags1, transform.
        if (seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "Adobe")
          adobeTransform = seg[11];
        break;
      case 0xffda: {
        if (frame === undefined)
          throw new ImageCodecError(
            `JPEG scan at byte ${markerPos} comes before any frame header (SOF)`,
          );
        const scan = readScanHeader(seg, frame, quantTables, dcTables, acTables, markerPos);
        pos = decodeScan(bytes, pos, frame, scan, restartInterval);
        pos = nextMarker(bytes, pos);
        scans++;
        break;
      }
      case 0xffdc:
        throw new ImageCodecError(
          `JPEG DNL marker at byte ${markerPos} (height defined after the scan) is not supported`,
        );
      default: {
        const sof = SOF_NAMES[marker & 0xff];
        if (sof !== undefined)
          throw new ImageCodecError(
            `JPEG ${sof} is not supported; only Huffman-coded baseline, extended and progressive`,
          );
        // APPn, COM and anything else ancillary: skipped.
      }
    }
  }
  if (frame === undefined || scans === 0) throw new ImageCodecError("JPEG has no frame or no scan");
  return toRgb(frame, adobeTransform);
}

function readQuantTables(seg: Uint8Array, tables: (Uint16Array | undefined)[], at: number): void {
  let p = 0;
  while (p < seg.length) {
    const precision = seg[p]! >> 4;
    const id = seg[p]! & 15;
    const size = precision === 0 ? 64 : 128;
    if (id > 3 || precision > 1 || p + 1 + size > seg.length) {
      throw new ImageCodecError(
        `JPEG DQT segment at byte ${at} is malformed (table ${id}, precision ${precision})`,
      );
    }
    const table = new Uint16Array(64);
    for (let k = 0; k < 64; k++) {
      table[ZIGZAG[k]!] =
        precision === 0 ? seg[p + 1 + k]! : (seg[p + 1 + 2 * k]! << 8) | seg[p + 2 + 2 * k]!;
    }
    tables[id] = table;
    p += 1 + size;
  }
}

function readHuffmanTables(
  seg: Uint8Array,
  dc: (HuffmanTable | undefined)[],
  ac: (HuffmanTable | undefined)[],
  at: number,
): void {
  let p = 0;
  while (p < seg.length) {
    const cls = seg[p]! >> 4;
    const id = seg[p]! & 15;
    if (cls > 1 || id > 3 || p + 17 > seg.length) {
      throw new ImageCodecError(
        `JPEG DHT segment at byte ${at} is malformed (class ${cls}, table ${id})`,
      );
    }
    const counts = seg.subarray(p + 1, p + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > 256 || p + 17 + total > seg.length) {
      throw new ImageCodecError(
        `JPEG DHT segment at byte ${at} declares ${total} codes but holds fewer`,
      );
    }
    const table = buildTable(counts, seg.slice(p + 17, p + 17 + total), at);
    (cls === 0 ? dc : ac)[id] = table;
    p += 17 + total;
  }
}

function buildTable(counts: Uint8Array, symbols: Uint8Array, at: number): HuffmanTable {
  const lookup = new Uint16Array(512);
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    valptr[len] = k;
    mincode[len] = code;
    for (let i = 0; i < n; i++, k++, code++) {
      if (len <= 9) {
        const shift = 9 - len;
        for (let j = 0; j < 1 << shift; j++) lookup[(code << shift) | j] = (len << 8) | symbols[k]!;
      }
    }
    if (n > 0) maxcode[len] = code - 1;
    if (code > 1 << len)
      throw new ImageCodecError(
        `JPEG DHT segment at byte ${at} has more codes of length ${len} than fit`,
      );
    code <<= 1;
  }
  return { lookup, maxcode, valptr, mincode, symbols };
}

function readFrame(seg: Uint8Array, progressive: boolean, at: number, maxPixels: number): Frame {
  const precision = seg[0];
  const height = (seg[1]! << 8) | seg[2]!;
  const width = (seg[3]! << 8) | seg[4]!;
  const count = seg[5]!;
  if (precision !== 8)
    throw new ImageCodecError(`JPEG with ${precision}-bit samples is not supported; only 8-bit`);
  if (height === 0)
    throw new ImageCodecError("JPEG with height 0 (defined by a DNL marker) is not supported");
  if (width === 0) throw new ImageCodecError(`JPEG frame header at byte ${at} has width 0`);
  if (![1, 3, 4].includes(count) || seg.length < 6 + 3 * count) {
    throw new ImageCodecError(
      `JPEG frame header at byte ${at} has ${count} components; supported: 1, 3 or 4`,
    );
  }
  assertPixelLimit("JPEG", width, height, maxPixels);
  const components: Component[] = [];
  for (let i = 0; i < count; i++) {
    const h = seg[7 + 3 * i]! >> 4;
    const v = seg[7 + 3 * i]! & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) {
      throw new ImageCodecError(`JPEG component ${i} has invalid sampling factors ${h}x${v}`);
    }
    components.push({
      id: seg[6 + 3 * i]!,
      h,
      v,
      quantId: seg[8 + 3 * i]! & 3,
      quant: undefined,
      blocksPerLine: 0,
      blocksPerColumn: 0,
      paddedBlocksPerLine: 0,
      paddedBlocksPerColumn: 0,
      coefs: new Int16Array(0),
      pred: 0,
      dcTable: undefined,
      acTable: undefined,
    });
  }
  const hmax = Math.max(...components.map((c) => c.h));
  const vmax = Math.max(...components.map((c) => c.v));
  const mcusPerLine = Math.ceil(width / (8 * hmax));
  const mcusPerColumn = Math.ceil(height / (8 * vmax));
  for (const c of components) {
    if (hmax % c.h !== 0 || vmax % c.v !== 0) {
      throw new ImageCodecError(
        `JPEG sampling factors ${c.h}x${c.v} do not divide the maximum ${hmax}x${vmax}; not supported`,
      );
    }
    c.blocksPerLine = Math.ceil(Math.ceil((width * c.h) / hmax) / 8);
    c.blocksPerColumn = Math.ceil(Math.ceil((height * c.v) / vmax) / 8);
    c.paddedBlocksPerLine = mcusPerLine * c.h;
    c.paddedBlocksPerColumn = mcusPerColumn * c.v;
    c.coefs = new Int16Array(c.paddedBlocksPerLine * c.paddedBlocksPerColumn * 64);
  }
  return { progressive, width, height, hmax, vmax, mcusPerLine, mcusPerColumn, components };
}

interface Scan {
  components: Component[];
  ss: number;
  se: number;
  ah: number;
  al: number;
}

function readScanHeader(
  seg: Uint8Array,
  frame: Frame,
  quantTables: (Uint16Array | undefined)[],
  dcTables: (HuffmanTable | undefined)[],
  acTables: (HuffmanTable | undefined)[],
  at: number,
): Scan {
  const count = seg[0]!;
  if (count < 1 || count > 4 || seg.length !== 4 + 2 * count) {
    throw new ImageCodecError(`JPEG scan header at byte ${at} is malformed (${count} components)`);
  }
  const components: Component[] = [];
  for (let i = 0; i < count; i++) {
    const id = seg[1 + 2 * i]!;
    const comp = frame.components.find((c) => c.id === id);
    if (comp === undefined)
      throw new ImageCodecError(`JPEG scan at byte ${at} names unknown component ${id}`);
    comp.dcTable = dcTables[seg[2 + 2 * i]! >> 4];
    comp.acTable = acTables[seg[2 + 2 * i]! & 15];
    if (comp.quant === undefined) {
      const q = quantTables[comp.quantId];
      if (q === undefined)
        throw new ImageCodecError(
          `JPEG component ${id} uses quantisation table ${comp.quantId}, which is not defined`,
        );
      comp.quant = q.slice();
    }
    components.push(comp);
  }
  const ss = seg[1 + 2 * count]!;
  const se = seg[2 + 2 * count]!;
  const ah = seg[3 + 2 * count]! >> 4;
  const al = seg[3 + 2 * count]! & 15;
  const valid = frame.progressive
    ? ss <= se &&
      se <= 63 &&
      (ss === 0 || (ss > 0 && count === 1)) &&
      (ss > 0 || se === 0) &&
      al <= 13
    : ss === 0 && se === 63 && ah === 0 && al === 0;
  if (!valid) {
    throw new ImageCodecError(
      `JPEG scan at byte ${at} has invalid spectral selection ${ss}-${se} / approximation ${ah},${al}`,
    );
  }
  for (const c of components) {
    const needDc = ss === 0 && ah === 0;
    const needAc = se > 0;
    if ((needDc && c.dcTable === undefined) || (needAc && c.acTable === undefined)) {
      throw new ImageCodecError(
        `JPEG scan at byte ${at} uses a Huffman table that is not defined (component ${c.id})`,
      );
    }
  }
  return { components, ss, se, ah, al };
}

/** Raised inside the entropy decoder when the data runs out; turned into an ImageCodecError with context. */
class ScanEnded extends Error {}

class BitReader {
  private buf = 0;
  private bits = 0;
  private stopped = false;

  constructor(
    private readonly data: Uint8Array,
    public pos: number,
  ) {}

  private fill(): void {
    while (this.bits <= 24 && !this.stopped) {
      if (this.pos >= this.data.length) {
        this.stopped = true;
        return;
      }
      const b = this.data[this.pos]!;
      if (b === 0xff) {
        // 0xFF 0x00 is a stuffed 0xFF; 0xFF before anything else starts a marker, which ends the data.
        if (this.data[this.pos + 1] !== 0) {
          this.stopped = true;
          return;
        }
        this.pos += 2;
      } else {
        this.pos++;
      }
      this.buf = (this.buf << 8) | b;
      this.bits += 8;
    }
  }

  readBits(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) {
      this.fill();
      if (this.bits < n) throw new ScanEnded();
    }
    this.bits -= n;
    return (this.buf >>> this.bits) & ((1 << n) - 1);
  }

  readBit(): number {
    return this.readBits(1);
  }

  decode(table: HuffmanTable): number {
    if (this.bits < 9) this.fill();
    const peek =
      this.bits >= 9
        ? (this.buf >>> (this.bits - 9)) & 0x1ff
        : (this.buf << (9 - this.bits)) & 0x1ff;
    const entry = table.lookup[peek]!;
    if (entry !== 0) {
      const len = entry >> 8;
      if (len > this.bits) throw new ScanEnded();
      this.bits -= len;
      return entry & 0xff;
    }
    let code = this.readBits(9);
    for (let len = 10; len <= 16; len++) {
      code = (code << 1) | this.readBit();
      if (code <= table.maxcode[len]!)
        return table.symbols[table.valptr[len]! + code - table.mincode[len]!]!;
    }
    throw new ImageCodecError(`JPEG scan data has an invalid Huffman code before byte ${this.pos}`);
  }

  /** Receives `size` bits and sign-extends them (T.81 F.2.2.1). */
  receiveExtend(size: number): number {
    if (size === 0) return 0;
    const v = this.readBits(size);
    return v < 1 << (size - 1) ? v - (1 << size) + 1 : v;
  }

  /** Discards buffered bits and consumes the RSTn marker that must come next. */
  restart(): void {
    this.buf = 0;
    this.bits = 0;
    this.stopped = false;
    let p = this.pos;
    while (this.data[p] === 0xff && this.data[p + 1] === 0xff) p++;
    const m = this.data[p + 1];
    if (this.data[p] !== 0xff || m === undefined || m < 0xd0 || m > 0xd7) {
      throw new ImageCodecError(`JPEG expected a restart marker at byte ${p}`);
    }
    this.pos = p + 2;
  }
}

/** Decodes one scan's entropy-coded data starting at `start`; returns the byte after it. */
function decodeScan(
  bytes: Uint8Array,
  start: number,
  frame: Frame,
  scan: Scan,
  restartInterval: number,
): number {
  const reader = new BitReader(bytes, start);
  const decodeBlock = blockDecoder(frame.progressive, scan, reader);
  const single = scan.components.length === 1;
  const first = scan.components[0]!;
  const totalMcus = single
    ? first.blocksPerLine * first.blocksPerColumn
    : frame.mcusPerLine * frame.mcusPerColumn;
  let eobrun = { value: 0 };
  for (const c of scan.components) c.pred = 0;
  let mcu = 0;
  try {
    while (mcu < totalMcus) {
      if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
        reader.restart();
        for (const c of scan.components) c.pred = 0;
        eobrun = { value: 0 };
      }
      if (single) {
        const row = Math.floor(mcu / first.blocksPerLine);
        const col = mcu % first.blocksPerLine;
        decodeBlock(first, (row * first.paddedBlocksPerLine + col) * 64, eobrun);
      } else {
        const mcuRow = Math.floor(mcu / frame.mcusPerLine);
        const mcuCol = mcu % frame.mcusPerLine;
        for (const c of scan.components) {
          for (let by = 0; by < c.v; by++) {
            for (let bx = 0; bx < c.h; bx++) {
              const row = mcuRow * c.v + by;
              const col = mcuCol * c.h + bx;
              decodeBlock(c, (row * c.paddedBlocksPerLine + col) * 64, eobrun);
            }
          }
        }
      }
      mcu++;
    }
  } catch (error) {
    if (!(error instanceof ScanEnded)) throw error;
    const what =
      reader.pos >= bytes.length
        ? `JPEG truncated at byte ${bytes.length}`
        : `JPEG scan data ended early at byte ${reader.pos}`;
    throw new ImageCodecError(`${what}: decoded ${mcu} of ${totalMcus} MCUs`);
  }
  return reader.pos;
}

/** After a scan: skips padding and trailing restart markers up to the next real marker. */
function nextMarker(bytes: Uint8Array, pos: number): number {
  let p = pos;
  while (p < bytes.length) {
    if (bytes[p] === 0xff) {
      const m = bytes[p + 1];
      if (m === undefined) return bytes.length;
      if (m >= 0xd0 && m <= 0xd7) {
        p += 2;
        continue;
      }
      if (m !== 0 && m !== 0xff) return p;
    }
    p++;
  }
  return p;
}

type BlockDecoder = (c: Component, offset: number, eobrun: { value: number }) => void;

function blockDecoder(progressive: boolean, scan: Scan, r: BitReader): BlockDecoder {
  const { ss, se, ah, al } = scan;
  if (!progressive) {
    return (c, o) => {
      const blk = c.coefs;
      const t = r.decode(c.dcTable!);
      if (t > 16) throw new ImageCodecError(`JPEG scan data has an invalid DC size ${t}`);
      c.pred += r.receiveExtend(t);
      blk[o] = c.pred;
      for (let k = 1; k < 64; ) {
        const rs = r.decode(c.acTable!);
        const s = rs & 15;
        const run = rs >> 4;
        if (s === 0) {
          if (run !== 15) break;
          k += 16;
          continue;
        }
        k += run;
        if (k > 63) throw new ImageCodecError("JPEG scan data has an AC run past coefficient 63");
        blk[o + ZIGZAG[k]!] = r.receiveExtend(s);
        k++;
      }
    };
  }
  if (ss === 0) {
    if (ah === 0) {
      return (c, o) => {
        const t = r.decode(c.dcTable!);
        if (t > 16) throw new ImageCodecError(`JPEG scan data has an invalid DC size ${t}`);
        c.pred += r.receiveExtend(t);
        c.coefs[o] = c.pred * (1 << al);
      };
    }
    return (c, o) => {
      if (r.readBit()) c.coefs[o]! |= 1 << al;
    };
  }
  if (ah === 0) {
    return (c, o, eobrun) => {
      if (eobrun.value > 0) {
        eobrun.value--;
        return;
      }
      const blk = c.coefs;
      for (let k = ss; k <= se; ) {
        const rs = r.decode(c.acTable!);
        const s = rs & 15;
        const run = rs >> 4;
        if (s === 0) {
          if (run < 15) {
            eobrun.value = (1 << run) - 1 + r.readBits(run);
            break;
          }
          k += 16;
          continue;
        }
        k += run;
        if (k > 63) throw new ImageCodecError("JPEG scan data has an AC run past coefficient 63");
        blk[o + ZIGZAG[k]!] = r.receiveExtend(s) * (1 << al);
        k++;
      }
    };
  }
  // AC successive-approximation refinement (T.81 G.1.2.3).
  const p1 = 1 << al;
  const m1 = -1 << al;
  return (c, o, eobrun) => {
    const blk = c.coefs;
    let k = ss;
    if (eobrun.value === 0) {
      for (; k <= se; k++) {
        const rs = r.decode(c.acTable!);
        let run = rs >> 4;
        let s = rs & 15;
        if (s !== 0) {
          s = r.readBit() ? p1 : m1;
        } else if (run !== 15) {
          eobrun.value = (1 << run) + r.readBits(run);
          break;
        }
        // Skip `run` zero coefficients, refining the non-zero ones passed on the way.
        while (k <= se) {
          const z = o + ZIGZAG[k]!;
          const coef = blk[z]!;
          if (coef !== 0) {
            if (r.readBit() && (coef & p1) === 0) blk[z] = coef >= 0 ? coef + p1 : coef + m1;
          } else if (--run < 0) {
            break;
          }
          k++;
        }
        if (s !== 0) {
          if (k > 63) throw new ImageCodecError("JPEG scan data has an AC run past coefficient 63");
          blk[o + ZIGZAG[k]!] = s;
        }
      }
    }
    if (eobrun.value > 0) {
      for (; k <= se; k++) {
        const z = o + ZIGZAG[k]!;
        const coef = blk[z]!;
        if (coef !== 0 && r.readBit() && (coef & p1) === 0)
          blk[z] = coef >= 0 ? coef + p1 : coef + m1;
      }
      eobrun.value--;
    }
  };
}

/** Dequantises and inverse-transforms one component into a plane of its padded size. */
function componentPlane(c: Component): { plane: Uint8Array; stride: number } {
  const stride = c.paddedBlocksPerLine * 8;
  const plane = new Uint8Array(stride * c.paddedBlocksPerColumn * 8);
  const q = c.quant ?? new Uint16Array(64).fill(1);
  const m = DCT_BASIS;
  const f = new Float64Array(64);
  const tmp = new Float64Array(64);
  for (let by = 0; by < c.paddedBlocksPerColumn; by++) {
    for (let bx = 0; bx < c.paddedBlocksPerLine; bx++) {
      const o = (by * c.paddedBlocksPerLine + bx) * 64;
      for (let i = 0; i < 64; i++) f[i] = c.coefs[o + i]! * q[i]!;
      // Columns: tmp[y][u] = sum_v m[v][y] * F[v][u]
      for (let u = 0; u < 8; u++) {
        for (let y = 0; y < 8; y++) {
          let s = 0;
          for (let v = 0; v < 8; v++) s += m[v * 8 + y]! * f[v * 8 + u]!;
          tmp[y * 8 + u] = s;
        }
      }
      // Rows: out[y][x] = sum_u m[u][x] * tmp[y][u]
      for (let y = 0; y < 8; y++) {
        const row = (by * 8 + y) * stride + bx * 8;
        for (let x = 0; x < 8; x++) {
          let s = 0;
          for (let u = 0; u < 8; u++) s += m[u * 8 + x]! * tmp[y * 8 + u]!;
          plane[row + x] = clampByte(Math.round(s + 128));
        }
      }
    }
  }
  return { plane, stride };
}

/**
 * Brings a component to full resolution. For 2x1 and 2x2 subsampling this is libjpeg's "fancy"
 * upsampling (a triangle filter with its exact rounding), so results match libjpeg-based decoders
 * closely; other factors replicate samples.
 */
function upsample(c: Component, frame: Frame): { plane: Uint8Array; stride: number } {
  const src = componentPlane(c);
  const fx = frame.hmax / c.h;
  const fy = frame.vmax / c.v;
  if (fx === 1 && fy === 1) return src;
  // The component's real extent; edge samples beyond it are padding and must not be blended in.
  const cw = Math.ceil((frame.width * c.h) / frame.hmax);
  const ch = Math.ceil((frame.height * c.v) / frame.vmax);
  const stride = cw * fx;
  const out = new Uint8Array(stride * ch * fy);
  const s = src.plane;
  const ss = src.stride;
  if (fx === 2 && fy <= 2 && cw >= 2) {
    const colsum = new Int32Array(cw);
    for (let y = 0; y < ch; y++) {
      for (let half = 0; half < fy; half++) {
        const o = (y * fy + half) * stride;
        if (fy === 1) {
          const r = y * ss;
          out[o] = s[r]!;
          out[o + 1] = (s[r]! * 3 + s[r + 1]! + 2) >> 2;
          for (let x = 1; x < cw - 1; x++) {
            const v = s[r + x]! * 3;
            out[o + 2 * x] = (v + s[r + x - 1]! + 1) >> 2;
            out[o + 2 * x + 1] = (v + s[r + x + 1]! + 2) >> 2;
          }
          out[o + 2 * cw - 2] = (s[r + cw - 1]! * 3 + s[r + cw - 2]! + 1) >> 2;
          out[o + 2 * cw - 1] = s[r + cw - 1]!;
        } else {
          const near = y * ss;
          const far = (half === 0 ? Math.max(0, y - 1) : Math.min(ch - 1, y + 1)) * ss;
          for (let x = 0; x < cw; x++) colsum[x] = s[near + x]! * 3 + s[far + x]!;
          out[o] = (colsum[0]! * 4 + 8) >> 4;
          out[o + 1] = (colsum[0]! * 3 + colsum[1]! + 7) >> 4;
          for (let x = 1; x < cw - 1; x++) {
            const v = colsum[x]! * 3;
            out[o + 2 * x] = (v + colsum[x - 1]! + 8) >> 4;
            out[o + 2 * x + 1] = (v + colsum[x + 1]! + 7) >> 4;
          }
          out[o + 2 * cw - 2] = (colsum[cw - 1]! * 3 + colsum[cw - 2]! + 8) >> 4;
          out[o + 2 * cw - 1] = (colsum[cw - 1]! * 4 + 7) >> 4;
        }
      }
    }
    return { plane: out, stride };
  }
  for (let y = 0; y < ch * fy; y++) {
    const r = Math.floor(y / fy) * ss;
    for (let x = 0; x < stride; x++) out[y * stride + x] = s[r + Math.floor(x / fx)]!;
  }
  return { plane: out, stride };
}

function toRgb(frame: Frame, adobeTransform: number | undefined): RgbImage {
  const { width, height } = frame;
  const planes = frame.components.map((c) => upsample(c, frame));
  const out = new Uint8Array(width * height * 3);
  const n = planes.length;
  if (n === 1) {
    const { plane, stride } = planes[0]!;
    for (let y = 0; y < height; y++) {
      for (let x = 0, o = y * width * 3; x < width; x++, o += 3) {
        const g = plane[y * stride + x]!;
        out[o] = g;
        out[o + 1] = g;
        out[o + 2] = g;
      }
    }
    return { width, height, data: out };
  }
  // Adobe's transform flag decides; without it, JFIF means YCbCr unless the ids spell "RGB".
  const rgbIds = frame.components.map((c) => c.id).join() === "82,71,66";
  const transform = adobeTransform ?? (n === 3 && !rgbIds ? 1 : 0);
  const [p0, p1, p2] = [planes[0]!, planes[1]!, planes[2]!];
  const p3 = planes[3];
  const pixel: [number, number, number] = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0, o = y * width * 3; x < width; x++, o += 3) {
      let r = p0.plane[y * p0.stride + x]!;
      let g = p1.plane[y * p1.stride + x]!;
      let b = p2.plane[y * p2.stride + x]!;
      if (transform !== 0) {
        ycc(r, g, b, pixel);
        [r, g, b] = pixel;
      }
      if (p3 !== undefined) {
        const k = p3.plane[y * p3.stride + x]!;
        // YCCK encodes 255 - C, 255 - M, 255 - Y. Adobe files store CMYK inverted (255 = no ink),
        // others store ink amounts.
        if (transform === 2) {
          r = 255 - r;
          g = 255 - g;
          b = 255 - b;
        }
        if (adobeTransform !== undefined) {
          r = Math.round((r * k) / 255);
          g = Math.round((g * k) / 255);
          b = Math.round((b * k) / 255);
        } else {
          r = Math.round(((255 - r) * (255 - k)) / 255);
          g = Math.round(((255 - g) * (255 - k)) / 255);
          b = Math.round(((255 - b) * (255 - k)) / 255);
        }
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return { width, height, data: out };
}

/** JFIF YCbCr -> RGB (the inverse of the encoder's matrix), rounded and clamped, into `out`. */
function ycc(y: number, cb: number, cr: number, out: [number, number, number]): void {
  const b1 = cb - 128;
  const r1 = cr - 128;
  out[0] = clampByte(Math.round(y + 1.402 * r1));
  out[1] = clampByte(Math.round(y - 0.344136286 * b1 - 0.714136286 * r1));
  out[2] = clampByte(Math.round(y + 1.772 * b1));
}
