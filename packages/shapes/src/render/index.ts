import type { RgbImage } from "../image.ts";
import type { Rng } from "../rng.ts";
import type { SceneSpec } from "../spec.ts";
import { layoutScene } from "./layout.ts";
import { rasterize } from "./rasterize.ts";

export { placeOutline, unitContains } from "./geometry.ts";
export { layoutScene, type PlacedObject, type SceneLayout } from "./layout.ts";
export { rasterize } from "./rasterize.ts";

/**
 * Renders the ground-truth 64x64 image of a scene; open choices (sizes, places, background shade)
 * come from `rng`, so the same spec and seed always give the same pixels.
 *
 * @example
 * const image = renderScene(parsePrompt("two big blue stars"), new Rng(3));
 */
export function renderScene(spec: SceneSpec, rng: Rng): RgbImage {
  return rasterize(layoutScene(spec, rng));
}
