import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.ts";
import { loadPipeline, type StableDiffusionPipeline } from "./stable-diffusion.ts";

// Easel Shapes' UNet was exported with fixed 16x16 latents (64x64 images).
const SHAPES = resolve(import.meta.dirname, "../../../shapes/artifacts/model");
const present = existsSync(resolve(SHAPES, "model_index.json"));
if (!present) console.warn("skipped: packages/shapes/artifacts/model is absent");

describe.skipIf(!present)("a model whose UNet has fixed spatial dimensions", () => {
  let pipe: StableDiffusionPipeline;
  beforeAll(async () => {
    pipe = await loadPipeline(SHAPES);
  });
  afterAll(async () => pipe?.release());

  it("rejects any other size before running, naming the parameter and the one size it takes", () => {
    expect(() => pipe.validate({ prompt: "a red circle", width: 128, height: 64 })).toThrow(
      InvalidParameterError,
    );
    expect(() => pipe.validate({ prompt: "a red circle", width: 64, height: 32 })).toThrow(
      "height must be 64 (the model's UNet has a fixed input size), got 32",
    );
  });

  it("accepts its own size", () => {
    expect(() => pipe.validate({ prompt: "a red circle", width: 64, height: 64 })).not.toThrow();
  });
});
