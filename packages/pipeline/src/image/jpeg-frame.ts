/** The decoded state of a JPEG frame that the decoder fills and reconstruction reads. */

/** A DHT table prepared for decoding. */
export interface HuffmanTable {
  /** Codes of up to 9 bits, indexed by the next 9 bits: `length << 8 | symbol`, 0 when longer. */
  lookup: Uint16Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  symbols: Uint8Array;
}

/** One colour component: its sampling, tables and quantised DCT coefficients. */
export interface Component {
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

/** The frame header plus the MCU layout derived from it. */
export interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  hmax: number;
  vmax: number;
  mcusPerLine: number;
  mcusPerColumn: number;
  components: Component[];
}

/** A scan header: its components and progressive band / approximation. */
export interface Scan {
  components: Component[];
  ss: number;
  se: number;
  ah: number;
  al: number;
}
