/**
 * Turning a result into files: PNG with the generation parameters embedded (A1111's `parameters`
 * text plus one key per setting), JPEG (parameters in a COM segment) or lossless WebP (no metadata).
 */
import { encodeImage, type ImageFormat } from "../image/index.ts";
import { parametersText } from "../image/parameters.ts";
import type { GenerateResult, GenerationParameters } from "./types.ts";

/** Options of {@link encodeResultImages}. */
export interface EncodeResultOptions {
  /** Default "png". PNG and JPEG carry the parameters text; WebP has no place for it. */
  format?: ImageFormat;
  /** JPEG quality 1-100; default the codec's (90). */
  quality?: number;
}

/** The text entries embedded in PNG output for these parameters (key `parameters` in A1111's form). */
export function pngTextFor(p: GenerationParameters): Record<string, string> {
  const text = parametersText({
    prompt: p.prompt,
    negativePrompt: p.negativePrompt === "" ? undefined : p.negativePrompt,
    steps: p.steps,
    scheduler: p.scheduler,
    guidanceScale: p.guidanceScale,
    seed: p.seed,
    width: p.width,
    height: p.height,
    model: p.model,
  });
  if (p.strength !== undefined) {
    text["parameters"] += `, Denoising strength: ${p.strength}`;
    text["strength"] = String(p.strength);
  }
  if (p.eta !== 0) {
    text["parameters"] += `, Eta: ${p.eta}`;
    text["eta"] = String(p.eta);
  }
  text["mode"] = p.mode;
  return text;
}

/**
 * Encodes every image of a result and records the time in `result.timings.encodeMs`.
 *
 * @example
 * const [png] = encodeResultImages(await pipe.generate({ prompt: "a red circle" }));
 * writeFileSync("out.png", png);
 */
export function encodeResultImages(
  result: GenerateResult,
  options: EncodeResultOptions = {},
): Uint8Array[] {
  const { format = "png", quality } = options;
  const started = performance.now();
  const text = pngTextFor(result.parameters);
  const files = result.images.map((img) =>
    encodeImage(img, format, { text, ...(quality === undefined ? {} : { quality }) }),
  );
  result.timings.encodeMs = performance.now() - started;
  return files;
}
