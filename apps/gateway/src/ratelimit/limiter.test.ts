import { describe, expect, it } from "vitest";
import { gcra, MemoryRateLimiter } from "./limiter.ts";

describe("GCRA", () => {
  it.each([1, 3, 7, 10, 60, 1000])(
    "admits exactly %i requests of a burst at one instant",
    (limit) => {
      let tat: number | undefined;
      let admitted = 0;
      for (let i = 0; i < limit * 10; i++) {
        const result = gcra(tat, 1_000_000, { limit, windowSeconds: 60 });
        tat = result.tatMs;
        if (result.decision.allowed) admitted++;
      }
      expect(admitted).toBe(limit);
    },
  );

  it("admits exactly the limit of a same-millisecond burst at today's epoch for every small policy", () => {
    // At 1.7e12 ms a double's step is 2.4e-4 ms: summing unrounded fractional intervals drifted
    // past the window and refused the last admissible request (e.g. 7 per 60 s admitted 6).
    const failures: string[] = [];
    for (let limit = 1; limit <= 300; limit++) {
      for (const windowSeconds of [1, 7, 60, 3600, 86_400]) {
        const now = 1_764_172_800_123 + limit * 977;
        let tat: number | undefined;
        let admitted = 0;
        for (let i = 0; i < limit + 2; i++) {
          const result = gcra(tat, now, { limit, windowSeconds });
          tat = result.tatMs;
          if (result.decision.allowed) admitted++;
        }
        if (admitted !== limit) failures.push(`${limit}/${windowSeconds}s admitted ${admitted}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("counts remaining down to zero and gives a Retry-After when refusing", () => {
    let tat: number | undefined;
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = gcra(tat, 0, { limit: 3, windowSeconds: 30 });
      tat = r.tatMs;
      remaining.push(r.decision.remaining);
    }
    expect(remaining).toEqual([2, 1, 0]);
    const refused = gcra(tat, 0, { limit: 3, windowSeconds: 30 });
    expect(refused.decision).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 10 });
  });

  it("admits one more request per interval once the burst is spent", () => {
    let tat: number | undefined;
    for (let i = 0; i < 4; i++) tat = gcra(tat, 0, { limit: 4, windowSeconds: 4 }).tatMs;
    expect(gcra(tat, 999, { limit: 4, windowSeconds: 4 }).decision.allowed).toBe(false);
    expect(gcra(tat, 1000, { limit: 4, windowSeconds: 4 }).decision.allowed).toBe(true);
  });
});

describe("MemoryRateLimiter", () => {
  it("keeps separate allowances per key", async () => {
    const limiter = new MemoryRateLimiter(() => 0);
    const policy = { limit: 2, windowSeconds: 60 };
    expect((await limiter.take("a", policy)).allowed).toBe(true);
    expect((await limiter.take("a", policy)).allowed).toBe(true);
    expect((await limiter.take("a", policy)).allowed).toBe(false);
    expect((await limiter.take("b", policy)).allowed).toBe(true);
  });
});
