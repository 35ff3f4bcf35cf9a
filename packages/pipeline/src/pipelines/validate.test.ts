import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.ts";
import type { RgbImage } from "../image/types.ts";
import { copyFixture, TINY_SD, TINY_SD_INPAINT } from "../models/test-helpers.ts";
import { loadPipeline, type StableDiffusionPipeline } from "./stable-diffusion.ts";
import type { GenerateRequest } from "./types.ts";

function image(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(128) };
}

let pipe: StableDiffusionPipeline;
let inpaint: StableDiffusionPipeline;
beforeAll(async () => {
  pipe = await loadPipeline(TINY_SD, { intraOpThreads: 1 });
  inpaint = await loadPipeline(TINY_SD_INPAINT, { intraOpThreads: 1 });
});
afterAll(async () => {
  await pipe.release();
  await inpaint.release();
});

async function rejection(
  p: StableDiffusionPipeline,
  req: GenerateRequest,
): Promise<InvalidParameterError> {
  const runsBefore = p.model.sessions.reduce((n, s) => n + s.runs, 0);
  const error = await p.generate(req).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidParameterError);
  // Validation comes first: no model ran.
  expect(p.model.sessions.reduce((n, s) => n + s.runs, 0)).toBe(runsBefore);
  return error as InvalidParameterError;
}

const base: GenerateRequest = { prompt: "a red fox", steps: 2, seed: 1 };

// [what, request patch, param, message]
const cases: [string, Record<string, unknown>, string, string][] = [
  ["an empty prompt", { prompt: "" }, "prompt", 'prompt must be a non-empty string, got ""'],
  ["a blank prompt", { prompt: "   " }, "prompt", 'prompt must be a non-empty string, got "   "'],
  [
    "a non-string negative prompt",
    { negativePrompt: 3 },
    "negativePrompt",
    "negativePrompt must be a string, got 3",
  ],
  [
    "width not a multiple of 8",
    { width: 60 },
    "width",
    "width must be a multiple of 8 in [8, 2048], got 60",
  ],
  ["width 0", { width: 0 }, "width", "width must be a multiple of 8 in [8, 2048], got 0"],
  [
    "height over 2048",
    { height: 2056 },
    "height",
    "height must be a multiple of 8 in [8, 2048], got 2056",
  ],
  ["steps 0", { steps: 0 }, "steps", "steps must be an integer in [1, 150], got 0"],
  ["steps 151", { steps: 151 }, "steps", "steps must be an integer in [1, 150], got 151"],
  ["fractional steps", { steps: 2.5 }, "steps", "steps must be an integer in [1, 150], got 2.5"],
  [
    "guidance below 0",
    { guidanceScale: -1 },
    "guidanceScale",
    "guidanceScale must be a number in [0, 30], got -1",
  ],
  [
    "guidance over 30",
    { guidanceScale: 31 },
    "guidanceScale",
    "guidanceScale must be a number in [0, 30], got 31",
  ],
  [
    "NaN guidance",
    { guidanceScale: Number.NaN },
    "guidanceScale",
    "guidanceScale must be a number in [0, 30], got NaN",
  ],
  ["numImages 0", { numImages: 0 }, "numImages", "numImages must be an integer in [1, 8], got 0"],
  ["numImages 9", { numImages: 9 }, "numImages", "numImages must be an integer in [1, 8], got 9"],
  ["eta over 1", { eta: 1.5 }, "eta", "eta must be a number in [0, 1], got 1.5"],
  ["a negative seed", { seed: -1 }, "seed", "seed must be an integer in [0, 4294967295], got -1"],
  [
    "a seed over 2^32-1",
    { seed: 2 ** 32 },
    "seed",
    "seed must be an integer in [0, 4294967295], got 4294967296",
  ],
  [
    "a fractional seed",
    { seed: 1.5 },
    "seed",
    "seed must be an integer in [0, 4294967295], got 1.5",
  ],
  [
    "strength 0",
    { strength: 0, image: image(64, 64) },
    "strength",
    "strength must be a number in (0, 1], got 0",
  ],
  [
    "strength over 1",
    { strength: 1.2, image: image(64, 64) },
    "strength",
    "strength must be a number in (0, 1], got 1.2",
  ],
  [
    "a strength that leaves no step",
    { strength: 0.1, steps: 5, image: image(64, 64) },
    "strength",
    "strength must be at least 1/steps = 0.2 so that one denoising step runs (strength * steps >= 1), got 0.1",
  ],
  [
    "a malformed image",
    { image: { width: 2, height: 2, data: new Uint8Array(3) } },
    "image",
    "image must be an RgbImage",
  ],
  [
    "a mask without image",
    { mask: image(64, 64) },
    "image",
    "image must be given when mask is given",
  ],
];

describe("request validation", () => {
  for (const [what, patch, param, message] of cases) {
    it(`rejects ${what}, naming ${param} and the limit`, async () => {
      const error = await rejection(pipe, { ...base, ...patch } as GenerateRequest);
      expect(error.param).toBe(param);
      expect(error.message.startsWith(message)).toBe(true);
    });
  }

  it("rejects an unknown scheduler, listing the known names", async () => {
    const error = await rejection(pipe, { ...base, scheduler: "warp-drive" });
    expect(error.param).toBe("scheduler");
    expect(error.message).toMatch(
      /^scheduler must be one of DDIMScheduler, .*euler-a.*, got "warp-drive"$/,
    );
  });

  it("rejects a prompt over 75 CLIP tokens with the count", async () => {
    const prompt = Array.from({ length: 80 }, () => "fox").join(" ");
    const error = await rejection(pipe, { ...base, prompt });
    expect(error.param).toBe("prompt");
    expect(error.message).toMatch(/^prompt must be at most 75 CLIP tokens .*, got "80 tokens"$/);
  });

  it("rejects an over-long negative prompt when guidance uses it", async () => {
    const negativePrompt = Array.from({ length: 76 }, () => "fox").join(" ");
    const error = await rejection(pipe, { ...base, negativePrompt });
    expect(error.param).toBe("negativePrompt");
  });

  it("rejects a mask on a model whose UNet is not an inpainting UNet", async () => {
    const error = await rejection(pipe, { ...base, image: image(64, 64), mask: image(64, 64) });
    expect(error.param).toBe("mask");
    expect(error.message).toContain("its UNet takes 4 channels, not an inpainting UNet's 9");
  });

  it("rejects a mask whose size differs from the image's", async () => {
    const error = await rejection(inpaint, { ...base, image: image(64, 64), mask: image(32, 64) });
    expect(error.message).toBe('mask must be the same size as image (64x64), got "32x64"');
  });

  it("requires image and mask for an inpainting model", async () => {
    expect((await rejection(inpaint, base)).param).toBe("image");
    expect((await rejection(inpaint, { ...base, image: image(64, 64) })).param).toBe("mask");
  });

  it("explains that image-to-image needs a vae_encoder when the model has none", async () => {
    const copy = copyFixture(TINY_SD);
    try {
      const { rmSync } = await import("node:fs");
      rmSync(`${copy.dir}/vae_encoder`, { recursive: true });
      const noEncoder = await loadPipeline(copy.dir);
      try {
        const error = await rejection(noEncoder, { ...base, image: image(64, 64) });
        expect(error.param).toBe("image");
        expect(error.message).toContain("has no vae_encoder/model.onnx");
      } finally {
        await noEncoder.release();
      }
    } finally {
      copy.cleanup();
    }
  });

  it("names the request in a batch and checks what the batch must share", async () => {
    const bad = await pipe.generateBatch([base, { ...base, steps: 0 }]).catch((e: unknown) => e);
    expect((bad as InvalidParameterError).param).toBe("requests[1].steps");
    const mixed = await pipe.generateBatch([base, { ...base, steps: 3 }]).catch((e: unknown) => e);
    expect((mixed as Error).message).toBe(
      "requests[1].steps must be equal to requests[0].steps (2) within one batch, got 3",
    );
    const empty = await pipe.generateBatch([]).catch((e: unknown) => e);
    expect((empty as InvalidParameterError).param).toBe("requests");
  });

  it("validate() throws the same errors without running anything", () => {
    expect(() => pipe.validate({ ...base, steps: 0 })).toThrow(
      "steps must be an integer in [1, 150], got 0",
    );
    expect(() => pipe.validate(base)).not.toThrow();
  });
});
