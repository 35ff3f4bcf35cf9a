import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { logCorrectlyRounded, logCorrectlyRoundedSlow } from "./log.ts";

// [x, log(x) rounded to nearest] from mpmath at 200 bits: fixtures/generate_golden.py.
const golden = JSON.parse(
  readFileSync(new URL("./fixtures/log-golden.json", import.meta.url), "utf8"),
) as { pairs: [number, number][]; glibc_misrounded_count: number };

function mismatches(log: (x: number) => number): string[] {
  return golden.pairs
    .filter(([x, expected]) => !Object.is(log(x), expected))
    .map(([x, expected]) => `log(${x}) = ${log(x)}, expected ${expected}`);
}

describe("logCorrectlyRounded", () => {
  it("rounds every golden input to the nearest double, including near-midpoint ones", () => {
    expect(golden.pairs.length).toBeGreaterThan(1500);
    expect(mismatches(logCorrectlyRounded)).toEqual([]);
  });

  it("gives the same results from its 200-bit fallback path", () => {
    expect(mismatches(logCorrectlyRoundedSlow)).toEqual([]);
  });

  it("differs from Math.log on inputs where Math.log is off by one ulp", () => {
    // Guards the premise of this module: if V8's log were correctly rounded it would be unneeded.
    expect(mismatches(Math.log).length).toBeGreaterThan(0);
  });

  it("follows Math.log for special values", () => {
    expect(logCorrectlyRounded(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(logCorrectlyRounded(-1)).toBeNaN();
    expect(logCorrectlyRounded(Number.NaN)).toBeNaN();
    expect(logCorrectlyRounded(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(Object.is(logCorrectlyRounded(1), 0)).toBe(true);
  });
});
