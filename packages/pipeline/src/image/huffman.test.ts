import { describe, expect, it } from "vitest";
import { canonicalReversedCodes, lengthLimitedCodeLengths } from "./huffman.ts";

function kraft(lengths: Uint8Array): number {
  let sum = 0;
  for (const l of lengths) if (l > 0) sum += 2 ** -l;
  return sum;
}

describe("lengthLimitedCodeLengths", () => {
  it("gives plain Huffman lengths when the limit does not bind", () => {
    // Frequencies 8, 4, 2, 1, 1: the textbook Huffman tree is a chain, lengths 1, 2, 3, 4, 4.
    expect([...lengthLimitedCodeLengths([1, 1, 2, 4, 8], 15)]).toEqual([4, 4, 3, 2, 1]);
  });

  it("finds the optimal code under a binding limit", () => {
    // Six symbols with lengths <= 3 and Kraft sum 1 force lengths {2, 2, 3, 3, 3, 3}; the two
    // most frequent symbols get the short codes (cost 47, versus 45 for unlimited Huffman).
    const lengths = lengthLimitedCodeLengths([1, 1, 2, 3, 5, 8], 3);
    expect([...lengths]).toEqual([3, 3, 3, 3, 2, 2]);
  });

  it("keeps codes complete and within the limit on a steep (Fibonacci) histogram", () => {
    const fib = [1, 1];
    while (fib.length < 30) fib.push(fib[fib.length - 1]! + fib[fib.length - 2]!);
    for (const limit of [7, 15]) {
      const lengths = lengthLimitedCodeLengths(fib, limit);
      expect(Math.max(...lengths)).toBeLessThanOrEqual(limit);
      expect(kraft(lengths)).toBe(1);
    }
  });

  it("skips unused symbols and gives a lone symbol length 1", () => {
    expect([...lengthLimitedCodeLengths([0, 5, 0, 0], 15)]).toEqual([0, 1, 0, 0]);
    expect([...lengthLimitedCodeLengths([0, 0], 15)]).toEqual([0, 0]);
    expect([...lengthLimitedCodeLengths([3, 0, 9], 15)]).toEqual([1, 0, 1]);
  });

  it("refuses more symbols than the limit can code", () => {
    expect(() => lengthLimitedCodeLengths([1, 1, 1, 1, 1], 2)).toThrow(
      "Huffman: 5 symbols cannot have codes of at most 2 bits",
    );
  });
});

describe("canonicalReversedCodes", () => {
  it("assigns RFC 1951's example codes, bit-reversed for an LSB-first writer", () => {
    // RFC 1951 section 3.2.2: lengths (3, 3, 3, 3, 3, 2, 4, 4) give codes
    // 010, 011, 100, 101, 110, 00, 1110, 1111.
    const codes = canonicalReversedCodes(new Uint8Array([3, 3, 3, 3, 3, 2, 4, 4]));
    const expected = ["010", "011", "100", "101", "110", "00", "1110", "1111"];
    const reversed = expected.map((c) => Number.parseInt([...c].reverse().join(""), 2));
    expect([...codes]).toEqual(reversed);
  });
});
