import type { Rng } from "../rng.ts";
import { isHeldOut, type ObjectSpec, type SceneSpec } from "../spec.ts";
import { COLOURS, POSITIONS, RELATIONS, SHAPES, SIZES } from "../world.ts";

/** Which scenes a sampler may produce: training scenes, held-out scenes, or both. */
export type Split = "train" | "heldout" | "all";

/** The three dataset splits. */
export const SPLITS: readonly Split[] = ["train", "heldout", "all"];

/** Probabilities of the prompt forms and of mentioning optional attributes. */
const FORM_WEIGHTS = { single: 0.4, count: 0.25, relation: 0.35 } as const;
const SIZE_MENTIONED = 0.5;
const POSITION_MENTIONED = 0.6;
/** Drawing more than this many candidates for one held-out/train scene means a broken predicate. */
const MAX_REJECTIONS = 10_000;

function sampleObject(rng: Rng, withSize: boolean): ObjectSpec {
  const object: ObjectSpec = { colour: rng.pick(COLOURS), shape: rng.pick(SHAPES) };
  if (withSize) object.size = rng.pick(SIZES);
  return object;
}

/** A scene from the full distribution, ignoring splits. */
function sampleAny(rng: Rng): SceneSpec {
  const u = rng.float();
  if (u < FORM_WEIGHTS.single) {
    const object = sampleObject(rng, rng.chance(SIZE_MENTIONED));
    return rng.chance(POSITION_MENTIONED)
      ? { form: "single", object, position: rng.pick(POSITIONS) }
      : { form: "single", object };
  }
  if (u < FORM_WEIGHTS.single + FORM_WEIGHTS.count) {
    return {
      form: "count",
      object: sampleObject(rng, rng.chance(SIZE_MENTIONED)),
      count: rng.chance(0.5) ? 2 : 3,
    };
  }
  const subject = sampleObject(rng, false);
  let reference = sampleObject(rng, false);
  // Two identical objects make "above" and "below" the same picture; keep relations informative.
  while (reference.colour === subject.colour && reference.shape === subject.shape) {
    reference = sampleObject(rng, false);
  }
  return { form: "relation", subject, relation: rng.pick(RELATIONS), reference };
}

/**
 * Draws a scene spec of the given split. "train" never returns a held-out scene (`isHeldOut`),
 * "heldout" only returns held-out ones, both by rejection from the same distribution: 40% single
 * objects (size named half the time, position 60%), 25% counts of two or three (size named half
 * the time), 35% relations between two different objects (sizes left open).
 *
 * @example
 * sampleSceneSpec(new Rng(5), "train")
 */
export function sampleSceneSpec(rng: Rng, split: Split = "all"): SceneSpec {
  for (let i = 0; i < MAX_REJECTIONS; i++) {
    const spec = sampleAny(rng);
    if (split === "all" || isHeldOut(spec) === (split === "heldout")) return spec;
  }
  throw new RangeError(`sampleSceneSpec: no ${split} scene in ${MAX_REJECTIONS} draws`);
}
