import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Mt19937 } from "./mt19937.ts";

// Raw words from numpy's MT19937 after `_legacy_seeding(seed)`: fixtures/generate_golden.py.
const golden = JSON.parse(
  readFileSync(new URL("./fixtures/numpy-golden.json", import.meta.url), "utf8"),
) as { mt19937_words: { seed: number; first8: number[]; index1299: number }[] };

describe("Mt19937", () => {
  it.each(golden.mt19937_words)("matches numpy's raw words for seed $seed", (words) => {
    const mt = new Mt19937(words.seed);
    const drawn = Array.from({ length: 1300 }, () => mt.nextUint32());
    expect(drawn.slice(0, 8)).toEqual(words.first8);
    expect(drawn[1299]).toBe(words.index1299);
  });

  it("keeps one stream when doubles are drawn at odd word offsets across block boundaries", () => {
    const words = new Mt19937(0);
    const doubles = new Mt19937(0);
    // One single word first, so the paired reads straddle each 624-word block edge.
    expect(doubles.nextUint32()).toBe(words.nextUint32());
    for (let i = 0; i < 700; i++) {
      const a = words.nextUint32() >>> 5;
      const b = words.nextUint32() >>> 6;
      expect(doubles.nextDouble()).toBe((a * 67108864 + b) / 9007199254740992);
    }
  });
});
