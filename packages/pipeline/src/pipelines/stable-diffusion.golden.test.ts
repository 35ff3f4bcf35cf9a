/**
 * Our pipeline against diffusers' OnnxStableDiffusion{,Img2Img,Inpaint}Pipeline on the fixture
 * models: fixtures/goldens/goldens.json lists the cases (made by fixtures/make_fixture.py with the
 * pinned versions it records); each output is diffusers' float32 image in [0, 1]. Our 8-bit pixels
 * divided by 255 must be within 2/255 of it everywhere.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.ts";
import { decodePng } from "../image/png.ts";
import type { RgbImage } from "../image/types.ts";
import { loadPipeline, type StableDiffusionPipeline } from "./stable-diffusion.ts";
import type { GenerateRequest } from "./types.ts";

const FIXTURES = resolve(import.meta.dirname, "../../fixtures");
const GOLDENS = join(FIXTURES, "goldens");
const TOLERANCE = 2 / 255;

interface GoldenCase {
  id: string;
  model: string;
  prompt: string;
  negative_prompt: string | null;
  steps: number;
  guidance_scale: number;
  eta: number;
  width: number;
  height: number;
  num_images_per_prompt: number;
  strength: number | null;
  image: string | null;
  mask: string | null;
  seed: number;
  scheduler: { class: string; overrides: Record<string, unknown> };
  output: { file: string; shape: number[] };
  unet_calls: number;
}

const manifestPath = join(GOLDENS, "goldens.json");
// Python's json writes float("-inf") (DPM-Solver's lambda_min_clipped) as the bare token -Infinity,
// which JSON.parse rejects; those config values are not used here.
const cases: GoldenCase[] = existsSync(manifestPath)
  ? (
      JSON.parse(
        readFileSync(manifestPath, "utf8").replace(
          /(?<=[:[,]\s*)-?(Infinity|NaN)(?=\s*[,\]}])/g,
          "null",
        ),
      ) as { cases: GoldenCase[] }
    ).cases
  : [];

/** The scheduler name our registry understands for a golden's class + overrides. */
function schedulerName(c: GoldenCase): string {
  const overrides = JSON.stringify(c.scheduler.overrides);
  if (overrides === "{}") return c.scheduler.class;
  if (
    c.scheduler.class === "DPMSolverMultistepScheduler" &&
    overrides === '{"use_karras_sigmas":true}'
  ) {
    return "dpm++2m-karras";
  }
  throw new Error(`golden ${c.id}: no scheduler name for ${c.scheduler.class} with ${overrides}`);
}

function readInput(name: string): RgbImage {
  return decodePng(readFileSync(join(GOLDENS, name)));
}

function requestOf(c: GoldenCase): GenerateRequest {
  const req: GenerateRequest = {
    prompt: c.prompt,
    steps: c.steps,
    guidanceScale: c.guidance_scale,
    eta: c.eta,
    width: c.width,
    height: c.height,
    numImages: c.num_images_per_prompt,
    seed: c.seed,
    scheduler: schedulerName(c),
  };
  if (c.negative_prompt !== null) req.negativePrompt = c.negative_prompt;
  if (c.image !== null) req.image = readInput(c.image);
  if (c.mask !== null) req.mask = readInput(c.mask);
  if (c.strength !== null) req.strength = c.strength;
  return req;
}

/**
 * Max |ours/255 - golden| over all images of the case (NHWC float32 goldens), and the max byte
 * difference against diffusers' own 8-bit output (`numpy_to_pil`: round(golden * 255)), which
 * shows the agreement without the 0.5/255 that quantizing our side alone costs.
 */
function diffs(images: RgbImage[], golden: Float32Array): { float: number; bytes: number } {
  let float = 0;
  let bytes = 0;
  let offset = 0;
  for (const img of images) {
    for (let i = 0; i < img.data.length; i++) {
      const g = golden[offset + i]!;
      float = Math.max(float, Math.abs(img.data[i]! / 255 - g));
      bytes = Math.max(bytes, Math.abs(img.data[i]! - roundHalfEven(Math.fround(g * 255))));
    }
    offset += img.data.length;
  }
  expect(offset).toBe(golden.length);
  return { float, bytes };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const pipes = new Map<string, Promise<StableDiffusionPipeline>>();
function pipeFor(model: string): Promise<StableDiffusionPipeline> {
  let pipe = pipes.get(model);
  if (pipe === undefined) {
    pipe = loadPipeline(join(FIXTURES, model), { intraOpThreads: 1 });
    pipes.set(model, pipe);
  }
  return pipe;
}

afterAll(async () => {
  for (const pipe of pipes.values()) await (await pipe).release();
});

if (cases.length === 0)
  console.warn(`skipped: ${manifestPath} absent (run fixtures/make_fixture.py)`);

describe.skipIf(cases.length === 0)("diffusers goldens", () => {
  const report: string[] = [];
  afterAll(() => {
    if (report.length > 0) console.info(`max |ours - diffusers| per golden:\n${report.join("\n")}`);
  });

  for (const c of cases) {
    // diffusers accepts an empty prompt and silently truncates past 75 tokens; we reject both
    // (documented), so those goldens check the rejection instead of the pixels.
    const rejected = c.prompt.trim() === "" || c.id.includes("long-prompt");
    if (rejected) {
      it(`rejects the ${c.id} case that diffusers accepts, naming the prompt`, async () => {
        const pipe = await pipeFor(c.model);
        const error = await pipe.generate(requestOf(c)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidParameterError);
        expect((error as InvalidParameterError).param).toBe("prompt");
        report.push(`${c.id}: rejected (${(error as Error).message})`);
      });
      continue;
    }
    it(`matches diffusers within 2/255 on ${c.id}`, async () => {
      const pipe = await pipeFor(c.model);
      const progress: number[] = [];
      const result = await pipe.generate({
        ...requestOf(c),
        onProgress: (e) => progress.push(e.step),
      });
      const golden = new Float32Array(
        new Uint8Array(readFileSync(join(GOLDENS, c.output.file))).buffer,
      );
      const { float: diff, bytes } = diffs(result.images, golden);
      report.push(
        `${c.id}: ${(diff * 255).toFixed(3)}/255 (max byte diff vs diffusers' uint8: ${bytes})`,
      );
      expect(progress.length).toBe(c.unet_calls);
      expect(result.images).toHaveLength(c.num_images_per_prompt);
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
