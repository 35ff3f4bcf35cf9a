import { ImageCodecError } from "./errors.ts";

interface Node {
  weight: number;
  symbol: number;
  left: Node | undefined;
  right: Node | undefined;
}

/**
 * Optimal prefix-code lengths for `freqs`, none longer than `maxLength`, by package-merge
 * (Larmore & Hirschberg). Symbols with frequency 0 get length 0. A lone used symbol gets length 1;
 * callers whose format has zero-length codes decide what to do with it. The code is always
 * complete (Kraft sum exactly 1) when two or more symbols are used, which VP8L decoders insist on.
 *
 * @example
 * lengthLimitedCodeLengths([10, 1, 1, 1], 2); // Uint8Array [2, 2, 2, 2]
 */
export function lengthLimitedCodeLengths(freqs: ArrayLike<number>, maxLength: number): Uint8Array {
  const lengths = new Uint8Array(freqs.length);
  const leaves: Node[] = [];
  for (let s = 0; s < freqs.length; s++) {
    const w = freqs[s]!;
    if (w > 0) leaves.push({ weight: w, symbol: s, left: undefined, right: undefined });
  }
  if (leaves.length === 0) return lengths;
  if (leaves.length === 1) {
    lengths[leaves[0]!.symbol] = 1;
    return lengths;
  }
  if (leaves.length > 2 ** maxLength) {
    throw new ImageCodecError(
      `Huffman: ${leaves.length} symbols cannot have codes of at most ${maxLength} bits`,
    );
  }
  leaves.sort((a, b) => a.weight - b.weight || a.symbol - b.symbol);

  // Each round pairs neighbours of the previous list into packages and merges them with the leaves;
  // after maxLength - 1 rounds, the 2n - 2 lightest items give each symbol its code length as the
  // number of times it appears in them.
  let list = leaves;
  for (let round = 1; round < maxLength; round++) {
    const packages: Node[] = [];
    for (let i = 0; i + 1 < list.length; i += 2) {
      const left = list[i]!;
      const right = list[i + 1]!;
      packages.push({ weight: left.weight + right.weight, symbol: -1, left, right });
    }
    list = mergeByWeight(leaves, packages);
  }
  const count = 2 * leaves.length - 2;
  const stack: Node[] = list.slice(0, count);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.symbol >= 0) lengths[node.symbol]!++;
    else stack.push(node.left!, node.right!);
  }
  return lengths;
}

function mergeByWeight(a: Node[], b: Node[]): Node[] {
  const out: Node[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i]!.weight <= b[j]!.weight ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/**
 * Canonical codes for code lengths (shorter codes first, then by symbol), as DEFLATE and VP8L
 * define them, returned bit-reversed so that an LSB-first writer emits them most significant bit
 * first.
 */
export function canonicalReversedCodes(lengths: Uint8Array): Uint16Array {
  const maxLength = lengths.reduce((m, l) => Math.max(m, l), 0);
  const perLength = new Uint16Array(maxLength + 1);
  for (const l of lengths) if (l > 0) perLength[l]!++;
  const next = new Uint32Array(maxLength + 2);
  let code = 0;
  for (let l = 1; l <= maxLength; l++) {
    code = (code + perLength[l - 1]!) << 1;
    next[l] = code;
  }
  const codes = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s]!;
    if (l === 0) continue;
    codes[s] = reverseBits(next[l]!++, l);
  }
  return codes;
}

function reverseBits(v: number, n: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}
