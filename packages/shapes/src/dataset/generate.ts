import { ShapesError } from "../errors.ts";
import { captionFor } from "../grammar/caption.ts";
import type { RgbImage } from "../image.ts";
import { layoutScene, rasterize, type SceneLayout } from "../render/index.ts";
import { mixSeed, Rng } from "../rng.ts";
import type { SceneSpec } from "../spec.ts";
import { type Split, sampleSceneSpec } from "./sample.ts";

/** Options of `generateDataset`. */
export interface DatasetOptions {
  /** Number of samples (a non-negative integer). */
  count: number;
  /** Any safe integer; item i depends only on (seed, i), so a longer dataset extends a shorter one. */
  seed: number;
  /** "train" excludes held-out scenes, "heldout" has only them, "all" both. */
  split: Split;
  /** Share of captions that are paraphrases instead of canonical wording. Default 0.5. */
  paraphraseRate?: number;
  /** First item index (to generate shards). Default 0. */
  start?: number;
}

/** One dataset item. */
export interface DatasetItem {
  index: number;
  image: RgbImage;
  caption: string;
  spec: SceneSpec;
  /** Where every object was drawn (spec order: a relation's subject first); the training recipe
   * grounds each object's words in its pixels with it. */
  layout: SceneLayout;
}

/**
 * Generates a deterministic dataset of rendered scenes with captions.
 *
 * @example
 * for (const { image, caption } of generateDataset({ count: 1000, seed: 1, split: "train" })) { ... }
 */
export function* generateDataset(options: DatasetOptions): Generator<DatasetItem> {
  const { count, seed, split, paraphraseRate = 0.5, start = 0 } = options;
  if (!Number.isInteger(count) || count < 0) {
    throw new ShapesError(`generateDataset: count must be an integer >= 0, got ${count}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw new ShapesError(`generateDataset: seed must be a safe integer, got ${seed}`);
  }
  if (!(paraphraseRate >= 0 && paraphraseRate <= 1)) {
    throw new ShapesError(
      `generateDataset: paraphraseRate must be in [0, 1], got ${paraphraseRate}`,
    );
  }
  if (!Number.isInteger(start) || start < 0) {
    throw new ShapesError(`generateDataset: start must be an integer >= 0, got ${start}`);
  }
  for (let index = start; index < start + count; index++) {
    const rng = new Rng(mixSeed(seed, index));
    const spec = sampleSceneSpec(rng, split);
    const caption = captionFor(spec, rng, { paraphrase: rng.chance(paraphraseRate) });
    const layout = layoutScene(spec, rng);
    yield { index, image: rasterize(layout), caption, spec, layout };
  }
}
