/**
 * GPT-2's byte-level alphabet (`bytes_to_unicode`), which CLIP reuses: every byte gets a printable
 * character, so BPE can work on text without unknown symbols or whitespace in tokens.
 * Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 onwards in byte order.
 */

function isPrintableLatin1(byte: number): boolean {
  return (
    (byte >= 0x21 && byte <= 0x7e) ||
    (byte >= 0xa1 && byte <= 0xac) ||
    (byte >= 0xae && byte <= 0xff)
  );
}

function buildTables(): { byByte: string[]; vocabOrder: string[] } {
  const byByte = new Array<string>(256);
  const printable: string[] = [];
  const remapped: string[] = [];
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const char = String.fromCharCode(isPrintableLatin1(byte) ? byte : next++);
    byByte[byte] = char;
    (isPrintableLatin1(byte) ? printable : remapped).push(char);
  }
  return { byByte, vocabOrder: [...printable, ...remapped] };
}

const tables = buildTables();

/** The character standing for each byte value 0..255. */
export const BYTE_TO_CHAR: readonly string[] = tables.byByte;

/**
 * The 256 byte characters in the order of the first vocabulary entries of CLIP's (and GPT-2's)
 * vocab.json: the printable bytes ("!" first, id 0), then the remapped ones.
 */
export const BYTE_CHARS_IN_VOCAB_ORDER: readonly string[] = tables.vocabOrder;

const encoder = new TextEncoder();

/** Maps a string's UTF-8 bytes to byte-level characters, e.g. "é" -> "Ã©". */
export function toByteLevel(text: string): string {
  let out = "";
  for (const byte of encoder.encode(text)) out += BYTE_TO_CHAR[byte];
  return out;
}
