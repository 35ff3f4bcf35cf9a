import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convInputChannels, OnnxFormatError, readOnnxSummary } from "./onnx-file.ts";
import { copyFixture, TINY_SD, TINY_SD_INPAINT, TINY_SD_OPTIMUM } from "./test-helpers.ts";

describe("readOnnxSummary", () => {
  it("lists the UNet's external weights in weights.pb for diffusers' export", () => {
    const summary = readOnnxSummary(join(TINY_SD, "unet", "model.onnx"));
    const locations = new Set(summary.externalData.map((r) => r.location));
    expect(locations).toEqual(new Set(["weights.pb"]));
    expect(summary.externalData.every((r) => r.length !== undefined && r.length > 0)).toBe(true);
  });

  it("lists model.onnx_data for Optimum's export", () => {
    const summary = readOnnxSummary(join(TINY_SD_OPTIMUM, "unet", "model.onnx"));
    expect(new Set(summary.externalData.map((r) => r.location))).toEqual(
      new Set(["model.onnx_data"]),
    );
  });

  it("reports no external data for a self-contained model", () => {
    expect(readOnnxSummary(join(TINY_SD, "text_encoder", "model.onnx")).externalData).toEqual([]);
  });

  it("finds the UNet's input channels from its first convolution (4, and 9 for inpainting)", () => {
    expect(convInputChannels(readOnnxSummary(join(TINY_SD, "unet", "model.onnx")), "sample")).toBe(
      4,
    );
    expect(
      convInputChannels(readOnnxSummary(join(TINY_SD_INPAINT, "unet", "model.onnx")), "sample"),
    ).toBe(9);
  });

  it("rejects a truncated model with OnnxFormatError", () => {
    const copy = copyFixture(TINY_SD);
    try {
      const file = join(copy.dir, "text_encoder", "model.onnx");
      const bytes = readFileSync(file);
      writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
      expect(() => readOnnxSummary(file)).toThrow(OnnxFormatError);
    } finally {
      copy.cleanup();
    }
  });

  it("rejects a file that is not protobuf, and an empty one", () => {
    const copy = copyFixture(TINY_SD);
    try {
      const file = join(copy.dir, "text_encoder", "model.onnx");
      writeFileSync(file, "this is not an onnx model\n");
      expect(() => readOnnxSummary(file)).toThrow(OnnxFormatError);
      writeFileSync(file, "");
      expect(() => readOnnxSummary(file)).toThrow("the file is empty");
    } finally {
      copy.cleanup();
    }
  });
});
