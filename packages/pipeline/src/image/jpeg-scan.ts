import { ImageCodecError } from "./errors.ts";
import type { Component, Frame, HuffmanTable, Scan } from "./jpeg-frame.ts";
import { ZIGZAG } from "./jpeg-tables.ts";

/**
 * Entropy decoding of JPEG scans (T.81 Annex F and G): the bit reader with byte unstuffing and
 * restart markers, and block decoders for sequential and the four progressive scan kinds.
 */

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
      if (code <= table.maxcode[len]!) {
        return table.symbols[table.valptr[len]! + code - table.mincode[len]!]!;
      }
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
export function decodeScan(
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
export function nextMarker(bytes: Uint8Array, pos: number): number {
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
        if (coef !== 0 && r.readBit() && (coef & p1) === 0) {
          blk[z] = coef >= 0 ? coef + p1 : coef + m1;
        }
      }
      eobrun.value--;
    }
  };
}
