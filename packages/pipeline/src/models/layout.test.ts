import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelLoadError } from "../errors/index.ts";
import { detectModelFiles } from "./layout.ts";
import { copyFixture, TINY_SD, TINY_SD_INPAINT, TINY_SD_OPTIMUM } from "./test-helpers.ts";

describe("detectModelFiles", () => {
  it("recognises diffusers' ONNX export layout and finds every component", () => {
    const files = detectModelFiles(TINY_SD);
    expect(files.layout).toBe("diffusers");
    expect(files.name).toBe("tiny-sd");
    expect(files.unet.model).toBe(join(TINY_SD, "unet", "model.onnx"));
    expect(files.textEncoder.model).toBe(join(TINY_SD, "text_encoder", "model.onnx"));
    expect(files.vaeDecoder.model).toBe(join(TINY_SD, "vae_decoder", "model.onnx"));
    expect(files.vaeEncoder?.model).toBe(join(TINY_SD, "vae_encoder", "model.onnx"));
    expect(files.tokenizerDir).toBe(join(TINY_SD, "tokenizer"));
    expect(files.schedulerConfig).toBe(join(TINY_SD, "scheduler", "scheduler_config.json"));
    expect(files.modelIndex).toBe(join(TINY_SD, "model_index.json"));
  });

  it("recognises Optimum's layout with per-folder configs and model.onnx_data", () => {
    const files = detectModelFiles(TINY_SD_OPTIMUM);
    expect(files.layout).toBe("optimum");
    expect(files.unet.config).toBe(join(TINY_SD_OPTIMUM, "unet", "config.json"));
    expect(files.vaeDecoder.config).toBe(join(TINY_SD_OPTIMUM, "vae_decoder", "config.json"));
  });

  it("finds the inpainting fixture as a diffusers layout too", () => {
    expect(detectModelFiles(TINY_SD_INPAINT).layout).toBe("diffusers");
  });

  it("treats vae_encoder as optional", () => {
    const copy = copyFixture(TINY_SD);
    try {
      rmSync(join(copy.dir, "vae_encoder"), { recursive: true });
      expect(detectModelFiles(copy.dir).vaeEncoder).toBeUndefined();
    } finally {
      copy.cleanup();
    }
  });

  it("names a missing model folder", () => {
    const missing = join(TINY_SD, "does-not-exist");
    expect(() => detectModelFiles(missing)).toThrow(
      new ModelLoadError(missing, `model folder not found: ${missing}`),
    );
  });

  const required = [
    "text_encoder/model.onnx",
    "unet/model.onnx",
    "vae_decoder/model.onnx",
    "tokenizer/vocab.json",
    "tokenizer/merges.txt",
    "scheduler/scheduler_config.json",
  ];
  for (const file of required) {
    it(`throws a ModelLoadError naming the full path when ${file} is missing`, () => {
      for (const fixture of [TINY_SD, TINY_SD_OPTIMUM]) {
        const copy = copyFixture(fixture);
        try {
          const path = join(copy.dir, file);
          rmSync(path);
          let error: unknown;
          try {
            detectModelFiles(copy.dir);
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(ModelLoadError);
          expect((error as ModelLoadError).file).toBe(path);
          expect((error as ModelLoadError).message).toContain(`missing required file ${path}`);
        } finally {
          copy.cleanup();
        }
      }
    });
  }
});
