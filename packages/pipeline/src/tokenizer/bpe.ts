import { TokenizerError } from "./errors.ts";

/** CLIP marks the last symbol of every word with this suffix, so "a" inside a word differs from the word "a". */
export const END_OF_WORD = "</w>";

/** The word cache is emptied when it reaches this size, bounding memory in a long-running service. */
const CACHE_LIMIT = 20_000;

/**
 * Byte-pair encoding with CLIP's end-of-word suffix: the lowest-ranked adjacent pair is merged,
 * everywhere in the word at once, until no ranked pair is left.
 */
export class BytePairEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, readonly string[]>();

  /**
   * @param vocab token -> id, used to check that every merge produces a known token.
   * @param merges "left right" pairs in rank order (merges.txt without its "#version" header).
   */
  constructor(vocab: ReadonlyMap<string, number>, merges: readonly string[]) {
    merges.forEach((merge, rank) => {
      const parts = merge.split(" ");
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new TokenizerError(
          `merge ${rank + 1} must be two tokens separated by one space, got "${merge}"`,
        );
      }
      if (!vocab.has(parts[0] + parts[1])) {
        throw new TokenizerError(
          `merge ${rank + 1} ("${merge}") makes "${parts[0] + parts[1]}", which is not in the vocabulary`,
        );
      }
      // A repeated pair takes its later rank, as in both CLIP's dict(zip(...)) and HF tokenizers.
      this.ranks.set(merge, rank);
    });
  }

  /** BPE symbols for one word given in byte-level characters, e.g. "photo" -> ["photo</w>"]. */
  encodeWord(word: string): readonly string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const symbols = this.merge(word);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, symbols);
    return symbols;
  }

  private merge(word: string): string[] {
    // Byte-level characters are all in the BMP, so one UTF-16 unit is one symbol.
    let symbols = word.split("");
    if (symbols.length === 0) return symbols;
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      let bestRank = Number.POSITIVE_INFINITY;
      let bestAt = -1;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestAt = i;
        }
      }
      if (bestAt < 0) break;
      const left = symbols[bestAt]!;
      const right = symbols[bestAt + 1]!;
      const merged = symbols.slice(0, bestAt);
      for (let i = bestAt; i < symbols.length; ) {
        if (symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i += 2;
        } else {
          merged.push(symbols[i]!);
          i += 1;
        }
      }
      symbols = merged;
    }
    return symbols;
  }
}
