import { ImageCodecError } from "./errors.ts";
import type { Component, Frame, HuffmanTable, Scan } from "./jpeg-frame.ts";
import { reconstructRgb } from "./jpeg-reconstruct.ts";
import { decodeScan, nextMarker } from "./jpeg-scan.ts";
import { ZIGZAG } from "./jpeg-tables.ts";
import { assertPixelLimit, DEFAULT_MAX_PIXELS, type RgbImage } from "./types.ts";

/** Options of `decodeJpeg`. */
export interface JpegDecodeOptions {
  /** Refuse images with more pixels than this before allocating. Default 2^26 (8192x8192). */
  maxPixels?: number;
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
    if (marker === 0xffd8) {
      throw new ImageCodecError(`JPEG has a second SOI marker at byte ${markerPos}`);
    }
    if (pos + 2 > bytes.length) {
      throw new ImageCodecError(
        `JPEG truncated at byte ${bytes.length}: segment length missing after marker at byte ${markerPos}`,
      );
    }
    const length = (bytes[pos]! << 8) | bytes[pos + 1]!;
    const name = `marker 0x${marker.toString(16).toUpperCase()}`;
    if (length < 2) {
      throw new ImageCodecError(`JPEG ${name} at byte ${markerPos} has invalid length ${length}`);
    }
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
        if (frame !== undefined) {
          throw new ImageCodecError(`JPEG has a second frame header at byte ${markerPos}`);
        }
        frame = readFrame(seg, marker === 0xffc2, markerPos, maxPixels);
        break;
      case 0xffdd:
        if (seg.length !== 2) {
          throw new ImageCodecError(
            `JPEG DRI segment at byte ${markerPos} has length ${length}, expected 4`,
          );
        }
        restartInterval = (seg[0]! << 8) | seg[1]!;
        break;
      case 0xffee:
        // Adobe APP14: "Adobe", version, flags0, flags1, transform.
        if (seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "Adobe") {
          adobeTransform = seg[11];
        }
        break;
      case 0xffda: {
        if (frame === undefined) {
          throw new ImageCodecError(
            `JPEG scan at byte ${markerPos} comes before any frame header (SOF)`,
          );
        }
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
        if (sof !== undefined) {
          throw new ImageCodecError(
            `JPEG ${sof} is not supported; only Huffman-coded baseline, extended and progressive`,
          );
        }
        // APPn, COM and anything else ancillary: skipped.
      }
    }
  }
  if (frame === undefined || scans === 0) throw new ImageCodecError("JPEG has no frame or no scan");
  return reconstructRgb(frame, adobeTransform);
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
    if (code > 1 << len) {
      throw new ImageCodecError(
        `JPEG DHT segment at byte ${at} has more codes of length ${len} than fit`,
      );
    }
    code <<= 1;
  }
  return { lookup, maxcode, valptr, mincode, symbols };
}

function readFrame(seg: Uint8Array, progressive: boolean, at: number, maxPixels: number): Frame {
  const precision = seg[0];
  const height = (seg[1]! << 8) | seg[2]!;
  const width = (seg[3]! << 8) | seg[4]!;
  const count = seg[5]!;
  if (precision !== 8) {
    throw new ImageCodecError(`JPEG with ${precision}-bit samples is not supported; only 8-bit`);
  }
  if (height === 0) {
    throw new ImageCodecError("JPEG with height 0 (defined by a DNL marker) is not supported");
  }
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
    if (comp === undefined) {
      throw new ImageCodecError(`JPEG scan at byte ${at} names unknown component ${id}`);
    }
    comp.dcTable = dcTables[seg[2 + 2 * i]! >> 4];
    comp.acTable = acTables[seg[2 + 2 * i]! & 15];
    if (comp.quant === undefined) {
      const q = quantTables[comp.quantId];
      if (q === undefined) {
        throw new ImageCodecError(
          `JPEG component ${id} uses quantisation table ${comp.quantId}, which is not defined`,
        );
      }
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
