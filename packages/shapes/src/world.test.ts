import { describe, expect, it } from "vitest";
import { BACKGROUND, BACKGROUND_JITTER, COLOURS, PALETTE } from "./world.ts";

const distance = (a: readonly number[], b: readonly number[]) =>
  Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

describe("PALETTE", () => {
  it("keeps every pair of colours at least 95 apart in RGB", () => {
    let closest = Number.POSITIVE_INFINITY;
    for (const a of COLOURS) {
      for (const b of COLOURS)
        if (a !== b) closest = Math.min(closest, distance(PALETTE[a], PALETTE[b]));
    }
    expect(closest).toBeGreaterThanOrEqual(95);
  });

  it("keeps every colour far from the lightest and darkest background", () => {
    for (const colour of COLOURS) {
      for (const shift of [-BACKGROUND_JITTER, BACKGROUND_JITTER]) {
        const background = BACKGROUND.map((c) => c + shift);
        expect(distance(PALETTE[colour], background), colour).toBeGreaterThanOrEqual(150);
      }
    }
  });
});
