import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExecutionProviderError, ModelLoadError } from "../errors/index.ts";
import {
  feedFor,
  float32ToHalfBits,
  halfBitsToFloat,
  ModelSession,
  type TensorSpec,
} from "./session.ts";
import { TINY_SD, TINY_SD_OPTIMUM } from "./test-helpers.ts";

describe("ModelSession", () => {
  it("reads a float32 [batch] timestep and int32 input_ids from diffusers' export", async () => {
    const unet = await ModelSession.open(join(TINY_SD, "unet", "model.onnx"));
    const te = await ModelSession.open(join(TINY_SD, "text_encoder", "model.onnx"));
    try {
      const timestep = unet.requireInput("timestep");
      expect(timestep.dtype).toBe("float32");
      expect(timestep.dims).toHaveLength(1);
      expect(typeof timestep.dims[0]).toBe("string");
      expect(unet.requireInput("sample").dims).toHaveLength(4);
      expect(te.requireInput("input_ids").dtype).toBe("int32");
    } finally {
      await unet.release();
      await te.release();
    }
  });

  it("reads an int64 [batch] timestep and int64 input_ids from Optimum's export", async () => {
    const unet = await ModelSession.open(join(TINY_SD_OPTIMUM, "unet", "model.onnx"));
    const te = await ModelSession.open(join(TINY_SD_OPTIMUM, "text_encoder", "model.onnx"));
    try {
      expect(unet.requireInput("timestep").dtype).toBe("int64");
      expect(unet.requireInput("timestep").dims).toHaveLength(1);
      expect(te.requireInput("input_ids").dtype).toBe("int64");
    } finally {
      await unet.release();
      await te.release();
    }
  });

  it("runs a model and counts the time spent inside onnxruntime", async () => {
    const te = await ModelSession.open(join(TINY_SD, "text_encoder", "model.onnx"));
    try {
      const spec = te.requireInput("input_ids");
      const clock = { onnxMs: 0 };
      const ids = new Array<number>(77).fill(0);
      const out = await te.run(
        { input_ids: feedFor(spec, ids, [1, 77]) },
        "text encoder",
        ["last_hidden_state"],
        clock,
      );
      expect(out["last_hidden_state"]!.dims).toEqual([1, 77, 32]);
      expect(clock.onnxMs).toBeGreaterThan(0);
      expect(te.runs).toBe(1);
    } finally {
      await te.release();
    }
  });

  it("names a missing input and lists the inputs the model has", async () => {
    const te = await ModelSession.open(join(TINY_SD, "text_encoder", "model.onnx"));
    try {
      expect(() => te.requireInput("timestep")).toThrow(
        /has no input "timestep" \(inputs: input_ids\)/,
      );
    } finally {
      await te.release();
    }
  });

  it("turns onnxruntime's load failure into a ModelLoadError naming the file", async () => {
    const file = join(TINY_SD, "tokenizer", "vocab.json");
    const error = await ModelSession.open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).file).toBe(file);
    expect((error as Error).message).toContain(`cannot load ONNX model ${file}`);
  });

  it("explains that the cuda provider is unavailable instead of crashing", async () => {
    const file = join(TINY_SD, "text_encoder", "model.onnx");
    const result = await ModelSession.open(file, { executionProvider: "cuda" }).then(
      async (s) => {
        await s.release();
        return "loaded";
      },
      (e: unknown) => e,
    );
    // CPU-only onnxruntime-node (this repo's) cannot load the CUDA provider; a CUDA build would load.
    if (result !== "loaded") {
      expect(result).toBeInstanceOf(ExecutionProviderError);
      expect((result as ExecutionProviderError).provider).toBe("cuda");
      expect((result as Error).message).toMatch(/execution provider "cuda" is not available/);
    }
  });
});

describe("feedFor", () => {
  const spec = (dtype: string): TensorSpec => ({ name: "x", dtype, dims: ["batch"] });

  it("truncates toward zero for integer inputs, as numpy's astype does", () => {
    expect(feedFor(spec("int64"), [946.7, -1.5], [2]).data).toEqual(new BigInt64Array([946n, -1n]));
    expect(feedFor(spec("int32"), [999.99], [1]).data).toEqual(new Int32Array([999]));
  });

  it("passes a Float32Array through without copying for float32 inputs", () => {
    const data = new Float32Array([1, 2]);
    expect(feedFor(spec("float32"), data, [2]).data).toBe(data);
  });
});

describe("float16 conversion", () => {
  it("encodes IEEE binary16 bit patterns", () => {
    expect(float32ToHalfBits(1)).toBe(0x3c00);
    expect(float32ToHalfBits(-2)).toBe(0xc000);
    expect(float32ToHalfBits(65504)).toBe(0x7bff);
    expect(float32ToHalfBits(1e6)).toBe(0x7c00);
    expect(float32ToHalfBits(2 ** -24)).toBe(0x0001);
    expect(float32ToHalfBits(0)).toBe(0);
  });

  it("rounds ties to even", () => {
    expect(float32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it("decodes back to the same values", () => {
    for (const v of [1, -2, 0.5, 65504, 2 ** -24, 0.1005859375]) {
      expect(halfBitsToFloat(float32ToHalfBits(v))).toBe(v);
    }
  });
});
