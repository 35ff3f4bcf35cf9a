import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PipelineAbortedError } from "../errors/index.ts";
import { decodePng } from "../image/png.ts";
import type { RgbImage } from "../image/types.ts";
import { TINY_SD, TINY_SD_INPAINT, TINY_SD_OPTIMUM } from "../models/test-helpers.ts";
import { encodeResultImages, pngTextFor } from "./output.ts";
import { loadPipeline, type StableDiffusionPipeline } from "./stable-diffusion.ts";
import type { GenerateRequest, ProgressEvent } from "./types.ts";

let pipe: StableDiffusionPipeline;
beforeAll(async () => {
  pipe = await loadPipeline(TINY_SD, { intraOpThreads: 1 });
});
afterAll(async () => {
  await pipe.release();
});

const base: GenerateRequest = {
  prompt: "a red fox sitting in the snow",
  steps: 4,
  seed: 42,
  scheduler: "ddim",
};

function maxByteDiff(a: RgbImage, b: RgbImage): number {
  let worst = 0;
  for (let i = 0; i < a.data.length; i++)
    worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!));
  return worst;
}

describe("StableDiffusionPipeline.generate", () => {
  it("returns images of the requested size, the seed and every stage's timing", async () => {
    const result = await pipe.generate({ ...base, width: 80, height: 48 });
    expect(result.images).toHaveLength(1);
    expect(result.images[0]).toMatchObject({ width: 80, height: 48 });
    expect(result.images[0]!.data).toHaveLength(80 * 48 * 3);
    expect(result.seed).toBe(42);
    const t = result.timings;
    expect(t.unetCallsMs).toHaveLength(4);
    for (const v of [
      t.tokenizeMs,
      t.textEncoderMs,
      t.unetMs,
      t.schedulerMs,
      t.vaeDecodeMs,
      t.onnxMs,
    ]) {
      expect(v).toBeGreaterThan(0);
    }
    expect(t.onnxMs).toBeLessThanOrEqual(t.totalMs);
    expect(t.unetMs).toBeCloseTo(
      t.unetCallsMs.reduce((a, b) => a + b, 0),
      6,
    );
    expect(result.parameters).toMatchObject({
      mode: "txt2img",
      prompt: base.prompt,
      negativePrompt: "",
      steps: 4,
      guidanceScale: 7.5,
      scheduler: "DDIMScheduler",
      seed: 42,
      width: 80,
      height: 48,
      model: "tiny-sd",
    });
  });

  it("is deterministic: the same seed gives identical bytes", async () => {
    const a = await pipe.generate(base);
    const b = await pipe.generate(base);
    expect(Buffer.from(a.images[0]!.data).equals(Buffer.from(b.images[0]!.data))).toBe(true);
  });

  it("draws stochastic scheduler noise from the request's generator (reproducible per seed)", async () => {
    for (const extra of [{ scheduler: "euler-a" }, { scheduler: "ddim", eta: 1 }]) {
      const a = await pipe.generate({ ...base, ...extra });
      const b = await pipe.generate({ ...base, ...extra });
      expect(maxByteDiff(a.images[0]!, b.images[0]!)).toBe(0);
    }
    const deterministic = await pipe.generate({ ...base, scheduler: "ddim", eta: 0 });
    const stochastic = await pipe.generate({ ...base, scheduler: "ddim", eta: 1 });
    expect(maxByteDiff(deterministic.images[0]!, stochastic.images[0]!)).toBeGreaterThan(0);
  });

  it("gives different images for different seeds", async () => {
    const a = await pipe.generate(base);
    const b = await pipe.generate({ ...base, seed: 43 });
    expect(maxByteDiff(a.images[0]!, b.images[0]!)).toBeGreaterThan(10);
  });

  it("picks a random 32-bit seed when none is given and echoes it", async () => {
    const { seed: _seed, ...noSeed } = base;
    const a = await pipe.generate({ ...noSeed, steps: 1 });
    expect(Number.isInteger(a.seed) && a.seed >= 0 && a.seed <= 2 ** 32 - 1).toBe(true);
    expect(a.parameters.seed).toBe(a.seed);
    const again = await pipe.generate({ ...noSeed, steps: 1, seed: a.seed });
    expect(maxByteDiff(a.images[0]!, again.images[0]!)).toBe(0);
  });

  it("reports progress once per UNet call, in order, with the scheduler's timesteps", async () => {
    const events: ProgressEvent[] = [];
    await pipe.generate({ ...base, scheduler: "pndm", onProgress: (e) => events.push(e) });
    // PNDM with skip_prk_steps repeats its second timestep: 4 steps are 5 UNet calls.
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5]);
    expect(events.every((e) => e.total === 5)).toBe(true);
    // leading spacing, steps_offset 1: 751, 501, 501, 251, 1.
    expect(events.map((e) => e.timestep)).toEqual([751, 501, 501, 251, 1]);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.elapsedMs).toBeGreaterThanOrEqual(events[i - 1]!.elapsedMs);
    expect(events.every((e) => e.preview === undefined)).toBe(true);
  });

  it("attaches a latent-resolution preview when asked", async () => {
    const previews: RgbImage[] = [];
    const result = await pipe.generate({
      ...base,
      preview: true,
      onProgress: (e) => {
        if (e.preview) previews.push(e.preview);
      },
    });
    expect(previews).toHaveLength(4);
    expect(previews[0]).toMatchObject({ width: 8, height: 8 });
    expect(previews[0]!.data).toHaveLength(8 * 8 * 3);
    expect(result.timings.previewMs).toBeGreaterThan(0);
  });

  it("stops between steps when the signal aborts, naming the step reached", async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const error = await pipe
      .generate({
        ...base,
        signal: controller.signal,
        onProgress: (e) => {
          steps.push(e.step);
          if (e.step === 2) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineAbortedError);
    expect((error as PipelineAbortedError).name).toBe("AbortError");
    expect((error as PipelineAbortedError).step).toBe(2);
    expect((error as PipelineAbortedError).total).toBe(4);
    expect((error as Error).message).toBe("generation aborted after step 2/4");
    expect(steps).toEqual([1, 2]);
  });

  it("does not start when the signal is already aborted", async () => {
    const runs = pipe.model.unet.session.runs;
    const error = await pipe
      .generate({ ...base, signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect((error as PipelineAbortedError).step).toBe(0);
    expect(pipe.model.unet.session.runs).toBe(runs);
  });

  it("skips classifier-free guidance at guidance <= 1 (half the UNet batch)", async () => {
    // With guidance 1 the negative prompt is ignored, so changing it changes nothing.
    const a = await pipe.generate({ ...base, guidanceScale: 1, negativePrompt: "blurry" });
    const b = await pipe.generate({ ...base, guidanceScale: 1, negativePrompt: "sharp" });
    expect(maxByteDiff(a.images[0]!, b.images[0]!)).toBe(0);
    const c = await pipe.generate({ ...base, guidanceScale: 7.5, negativePrompt: "blurry" });
    const d = await pipe.generate({ ...base, guidanceScale: 7.5, negativePrompt: "sharp" });
    expect(maxByteDiff(c.images[0]!, d.images[0]!)).toBeGreaterThan(0);
  });
});

describe("StableDiffusionPipeline.generateBatch", () => {
  const requests: GenerateRequest[] = [
    { ...base, seed: 1, guidanceScale: 7.5, negativePrompt: "blurry" },
    { ...base, prompt: "a castle on a hill", seed: 2, guidanceScale: 1, numImages: 2 },
    { ...base, prompt: "an owl at night", seed: 3, guidanceScale: 4, scheduler: "DDIMScheduler" },
  ];

  it("gives each request the images it would get alone (within 1/255)", async () => {
    const batched = await pipe.generateBatch(requests);
    expect(batched).toHaveLength(3);
    for (const [i, req] of requests.entries()) {
      const alone = await pipe.generate(req);
      expect(batched[i]!.seed).toBe(req.seed);
      expect(batched[i]!.images).toHaveLength(req.numImages ?? 1);
      for (const [j, img] of alone.images.entries()) {
        expect(maxByteDiff(batched[i]!.images[j]!, img)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("runs the whole batch through one UNet call per step", async () => {
    const runs = pipe.model.unet.session.runs;
    const events: number[] = [];
    await pipe.generateBatch(requests, { onProgress: (e) => events.push(e.step) });
    expect(pipe.model.unet.session.runs - runs).toBe(4);
    expect(events).toEqual([1, 2, 3, 4]);
  });

  it("gives one preview per request to the batch callback when asked", async () => {
    let previews: (RgbImage | undefined)[] = [];
    await pipe.generateBatch(requests, {
      previews: true,
      onProgress: (e) => {
        previews = e.previews ?? [];
      },
    });
    expect(previews).toHaveLength(3);
    expect(previews.every((p) => p?.width === 8)).toBe(true);
  });

  it("aborts the whole batch from the batch signal", async () => {
    const controller = new AbortController();
    const error = await pipe
      .generateBatch(requests, { signal: controller.signal, onProgress: () => controller.abort() })
      .catch((e: unknown) => e);
    expect((error as PipelineAbortedError).step).toBe(1);
  });
});

describe("other layouts and modes", () => {
  it("runs the Optimum fixture (int64 timestep and input_ids)", async () => {
    const optimum = await loadPipeline(TINY_SD_OPTIMUM, { intraOpThreads: 1 });
    try {
      const result = await optimum.generate({ ...base, scheduler: "euler" });
      expect(result.images[0]).toMatchObject({ width: 64, height: 64 });
    } finally {
      await optimum.release();
    }
  });

  it("runs image-to-image on the Optimum fixture, whose encoder returns mean and logvar", async () => {
    const optimum = await loadPipeline(TINY_SD_OPTIMUM, { intraOpThreads: 1 });
    try {
      const image = (await pipe.generate(base)).images[0]!;
      const result = await optimum.generate({ ...base, image, strength: 0.5 });
      expect(result.parameters.mode).toBe("img2img");
      expect(result.parameters.strength).toBe(0.5);
      // int(4 * 0.5) = 2 denoising steps.
      expect(result.timings.unetCallsMs).toHaveLength(2);
      expect(result.timings.vaeEncodeMs).toBeGreaterThan(0);
    } finally {
      await optimum.release();
    }
  });

  it("resizes an image-to-image input to the requested size", async () => {
    const image = (await pipe.generate(base)).images[0]!;
    const result = await pipe.generate({ ...base, image, width: 32, height: 48 });
    expect(result.images[0]).toMatchObject({ width: 32, height: 48 });
  });

  it("defaults the size to the input image's, floored to the VAE factor", async () => {
    const image: RgbImage = { width: 70, height: 50, data: new Uint8Array(70 * 50 * 3).fill(90) };
    const result = await pipe.generate({ ...base, image });
    expect(result.images[0]).toMatchObject({ width: 64, height: 48 });
  });

  it("inpaints with a 9-channel UNet from an image and a mask", async () => {
    const inpaint = await loadPipeline(TINY_SD_INPAINT, { intraOpThreads: 1 });
    try {
      const image = (await pipe.generate(base)).images[0]!;
      const mask: RgbImage = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) };
      for (let y = 16; y < 48; y++) mask.data.fill(255, (y * 64 + 16) * 3, (y * 64 + 48) * 3);
      const result = await inpaint.generate({ ...base, image, mask });
      expect(result.parameters.mode).toBe("inpaint");
      expect(result.images[0]).toMatchObject({ width: 64, height: 64 });
    } finally {
      await inpaint.release();
    }
  });
});

describe("encodeResultImages", () => {
  it("embeds the generation parameters as A1111 'parameters' text in the PNG", async () => {
    const result = await pipe.generate({ ...base, negativePrompt: "blurry" });
    const [png] = encodeResultImages(result);
    const decoded = decodePng(png!);
    expect(decoded.width).toBe(64);
    expect(Buffer.from(decoded.data).equals(Buffer.from(result.images[0]!.data))).toBe(true);
    expect(decoded.text["parameters"]).toBe(
      "a red fox sitting in the snow\nNegative prompt: blurry\n" +
        "Steps: 4, Sampler: DDIM, CFG scale: 7.5, Seed: 42, Size: 64x64, Model: tiny-sd",
    );
    expect(decoded.text["seed"]).toBe("42");
    expect(result.timings.encodeMs).toBeGreaterThan(0);
  });

  it("adds the strength of an image-to-image result", () => {
    const text = pngTextFor({
      mode: "img2img",
      prompt: "p",
      negativePrompt: "",
      numImages: 1,
      width: 64,
      height: 64,
      steps: 10,
      guidanceScale: 7.5,
      scheduler: "EulerDiscreteScheduler",
      seed: 1,
      eta: 0,
      strength: 0.6,
      model: "m",
    });
    expect(text["parameters"]).toBe(
      "p\nSteps: 10, Sampler: Euler, CFG scale: 7.5, Seed: 1, Size: 64x64, Model: m, Denoising strength: 0.6",
    );
  });
});
