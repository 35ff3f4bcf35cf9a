import { describe, expect, it } from "vitest";
import { mixSeed, Rng } from "./rng.ts";

describe("Rng", () => {
  it("repeats the same sequence for the same seed", () => {
    const a = new Rng(12345);
    const b = new Rng(12345);
    const seqA = Array.from({ length: 100 }, () => a.nextU32());
    const seqB = Array.from({ length: 100 }, () => b.nextU32());
    expect(seqA).toEqual(seqB);
  });

  it("gives different sequences for neighbouring seeds, including seeds above 2^32", () => {
    const first = (seed: number) =>
      Array.from(
        { length: 8 },
        (
          (rng) => () =>
            rng.nextU32()
        )(new Rng(seed)),
      );
    expect(first(1)).not.toEqual(first(2));
    expect(first(0)).not.toEqual(first(2 ** 32));
  });

  it("draws floats in [0, 1) with a mean near one half", () => {
    const rng = new Rng(7);
    const xs = Array.from({ length: 20_000 }, () => rng.float());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(0.5, 1);
  });

  it("draws every integer of an inclusive range and nothing outside it", () => {
    const rng = new Rng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(rng.int(-2, 3));
    expect([...seen].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2, 3]);
  });

  it("rejects a seed that is not a safe integer", () => {
    expect(() => new Rng(1.5)).toThrow(/seed must be a safe integer, got 1.5/);
  });
});

describe("mixSeed", () => {
  it("is a pure function of seed and index that separates neighbouring indices", () => {
    expect(mixSeed(9, 4)).toBe(mixSeed(9, 4));
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => mixSeed(9, i)));
    expect(seeds.size).toBe(1000);
    expect(mixSeed(9, 4)).not.toBe(mixSeed(10, 4));
  });
});
