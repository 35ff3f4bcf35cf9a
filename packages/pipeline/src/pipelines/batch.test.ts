import { describe, expect, it } from "vitest";
import type { TensorSpec } from "../models/session.ts";
import { guidedNoise, hiddenStatesFor, layoutBatch, TimestepInput } from "./batch.ts";
import type { ResolvedRequest } from "./validate.ts";

function request(numImages: number, guidanceScale: number, seed = 0): ResolvedRequest {
  return { numImages, guidanceScale, cfg: guidanceScale > 1, seed } as ResolvedRequest;
}

describe("layoutBatch", () => {
  it("puts every unconditional row first, then the conditional rows, as diffusers batches one request", () => {
    const { states, rows } = layoutBatch([request(2, 7.5), request(1, 1), request(3, 4)]);
    expect(rows).toBe(2 + 3 + (2 + 1 + 3));
    expect(states.map((s) => [s.negRow, s.posRow])).toEqual([
      [0, 5],
      [-1, 7],
      [2, 8],
    ]);
  });
});

describe("hiddenStatesFor", () => {
  it("repeats each prompt's and negative prompt's embedding over its rows", () => {
    const { states, rows } = layoutBatch([request(2, 7.5), request(1, 1)]);
    // embeddings rows: prompt 0, prompt 1, negative 0; seq 1, hidden 1.
    const out = hiddenStatesFor(states, rows, {
      data: new Float32Array([10, 20, 30]),
      dims: [3, 1, 1],
    });
    expect(Array.from(out)).toEqual([30, 30, 10, 10, 20]);
  });
});

describe("guidedNoise", () => {
  it("computes uncond + g * (cond - uncond) in float32 over the conditional rows", () => {
    const { states } = layoutBatch([request(1, 7.5)]);
    const pred = new Float32Array([0.1, -0.2, 0.3, 0.5]);
    const guided = guidedNoise(pred, states[0]!, 2);
    const f = Math.fround;
    expect(Array.from(guided)).toEqual([
      f(f(0.1) + f(f(7.5) * f(f(0.3) - f(0.1)))),
      f(f(-0.2) + f(f(7.5) * f(f(0.5) - f(-0.2)))),
    ]);
  });

  it("returns the conditional rows untouched without guidance", () => {
    const { states } = layoutBatch([request(1, 1)]);
    const pred = new Float32Array([0.25, 0.5]);
    expect(Array.from(guidedNoise(pred, states[0]!, 2))).toEqual([0.25, 0.5]);
  });
});

describe("TimestepInput", () => {
  const spec = (dtype: string, dims: (number | string)[]): TensorSpec => ({
    name: "timestep",
    dtype,
    dims,
  });

  it("feeds a symbolic [batch] dimension with the batch size", () => {
    const input = new TimestepInput(spec("float32", ["batch"]), 4);
    const feed = input.set(946.5);
    expect(feed.dims).toEqual([4]);
    expect(Array.from(feed.data as Float32Array)).toEqual([946.5, 946.5, 946.5, 946.5]);
  });

  it("keeps a fixed [1] shape and a scalar", () => {
    expect(new TimestepInput(spec("float32", [1]), 4).set(1).dims).toEqual([1]);
    const scalar = new TimestepInput(spec("int64", []), 4).set(999.9);
    expect(scalar.dims).toEqual([]);
    expect(scalar.data).toEqual(new BigInt64Array([999n]));
  });

  it("truncates fractional timesteps for integer inputs (numpy's astype) and rounds to float32 otherwise", () => {
    expect(new TimestepInput(spec("int32", ["b"]), 1).set(946.7).data).toEqual(
      new Int32Array([946]),
    );
    expect((new TimestepInput(spec("float32", ["b"]), 1).set(0.1).data as Float32Array)[0]).toBe(
      Math.fround(0.1),
    );
    // float16 bits of 500: exponent 8 + 15 = 23, mantissa 500/256 - 1 = 0.953125 -> 976.
    expect(new TimestepInput(spec("float16", ["b"]), 2).set(500).data).toEqual(
      new Uint16Array([0x5fd0, 0x5fd0]),
    );
  });
});
