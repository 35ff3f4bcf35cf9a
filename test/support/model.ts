import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { decodePng } from "@easel/pipeline";
import { evaluate, parsePrompt, type Verdict } from "@easel/shapes";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** The embedded default model (Easel Shapes), once trained and exported. */
export const SHAPES_MODEL_DIR = resolve(REPO_ROOT, "packages/shapes/artifacts/model");

/** The random-weight SD fixture: the real pipeline, but its images are noise. */
export const TINY_MODEL_DIR = resolve(REPO_ROOT, "packages/pipeline/fixtures/tiny-sd");

/** True when the Shapes model exists: tests then use it and judge images with its evaluator. */
export const hasShapesModel = existsSync(resolve(SHAPES_MODEL_DIR, "model_index.json"));

if (!hasShapesModel) {
  console.warn(
    "e2e: packages/shapes/artifacts/model is absent: using the tiny random fixture model; images are checked for format and size only",
  );
}

/**
 * Inference settings for the model the tests use: nothing for the embedded Shapes model (the
 * inference default), else the tiny fixture under the name `tiny`. One ONNX thread: the machine
 * is small and shared.
 */
export function modelEnv(): Record<string, string> {
  return {
    EASEL_THREADS: "1",
    ...(hasShapesModel ? {} : { EASEL_MODELS: `tiny=${TINY_MODEL_DIR}` }),
  };
}

/** Id of the model the stack serves by default. */
export const MODEL_ID = hasShapesModel ? "easel-shapes" : "tiny";

/**
 * An input that keeps inference busy for seconds, so a cancel or an abort reaches it mid-run: the
 * Shapes UNet only takes 64x64 (four images per run instead), the tiny fixture any size.
 */
export const SLOW_INPUT = hasShapesModel
  ? ({ steps: 150, num_images: 4 } as const)
  : ({ width: 256, height: 256, steps: 150 } as const);

/** The PNG signature, so a failure names what came back instead of a decoder error. */
export const isPng = (bytes: Uint8Array) =>
  bytes.length > 8 && [137, 80, 78, 71, 13, 10, 26, 10].every((b, i) => bytes[i] === b);

export interface ImageCheck {
  width: number;
  height: number;
  /** The Shapes evaluator's verdict on the prompt; null with the tiny model. */
  verdict: Verdict | null;
}

/**
 * Decodes a generated PNG and, when the Shapes model is in use, judges it against the prompt with
 * the Shapes evaluator (an independent, rule-based reader of the image).
 */
export function checkImage(bytes: Uint8Array, prompt: string): ImageCheck {
  if (!isPng(bytes)) {
    throw new Error(`not a PNG: ${Buffer.from(bytes.subarray(0, 32)).toString("hex")}`);
  }
  const image = decodePng(bytes);
  const verdict = hasShapesModel ? evaluate(image, parsePrompt(prompt)) : null;
  return { width: image.width, height: image.height, verdict };
}

/** A one-line description of a verdict for assertion messages. */
export function describeVerdict(verdict: Verdict | null): string {
  if (!verdict) return "no verdict (tiny model)";
  const found = verdict.found
    .slice(0, 4)
    .map(
      (o) =>
        `${o.size} ${o.colour} ${o.shape} @(${o.centre.x.toFixed(0)},${o.centre.y.toFixed(0)})`,
    )
    .join(", ");
  return `${JSON.stringify(verdict.attributes)} found: ${found || "nothing"}`;
}
