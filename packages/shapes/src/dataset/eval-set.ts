import { ShapesError } from "../errors.ts";
import { canonicalCaption } from "../grammar/caption.ts";
import { Rng } from "../rng.ts";
import { isHeldOut, type ObjectSpec, type SceneForm, type SceneSpec } from "../spec.ts";
import {
  COLOURS,
  POSITIONS,
  type Position,
  RELATIONS,
  type Relation,
  SHAPES,
  SIZES,
} from "../world.ts";

/** One prompt of the built-in evaluation set. */
export interface EvalPrompt {
  /** Canonical wording. */
  prompt: string;
  /** Whether the scene is held out of training. */
  heldOut: boolean;
  form: SceneForm;
  /** Which variant of the form: e.g. "single+size+position", "count", "relation:above". */
  variant: string;
}

/** Options of `evalPromptSet`. */
export interface EvalSetOptions {
  /** Prompts of scenes seen in training. Default 240. */
  seen?: number;
  /** Prompts of held-out scenes. Default 80. */
  heldOut?: number;
  /** Default 0. */
  seed?: number;
}

type Variant = { name: string; make: (rng: Rng) => SceneSpec };

function object(rng: Rng, withSize: boolean): ObjectSpec {
  const o: ObjectSpec = { colour: rng.pick(COLOURS), shape: rng.pick(SHAPES) };
  if (withSize) o.size = rng.pick(SIZES);
  return o;
}

function single(withSize: boolean, withPosition: boolean): Variant {
  return {
    name: `single${withSize ? "+size" : ""}${withPosition ? "+position" : ""}`,
    make: (rng) => {
      const o = object(rng, withSize);
      const position: Position | undefined = withPosition ? rng.pick(POSITIONS) : undefined;
      return position === undefined
        ? { form: "single", object: o }
        : { form: "single", object: o, position };
    },
  };
}

function count(withSize: boolean): Variant {
  return {
    name: `count${withSize ? "+size" : ""}`,
    make: (rng) => ({ form: "count", object: object(rng, withSize), count: rng.pick([2, 3]) }),
  };
}

function relation(r: Relation): Variant {
  return {
    name: `relation:${r}`,
    make: (rng) => {
      const subject = object(rng, false);
      let reference = object(rng, false);
      while (reference.colour === subject.colour && reference.shape === subject.shape) {
        reference = object(rng, false);
      }
      return { form: "relation", subject, relation: r, reference };
    },
  };
}

/** Every variant of every form; prompts cycle through them so each is equally covered. */
const VARIANTS: readonly Variant[] = [
  single(false, false),
  single(true, false),
  single(false, true),
  single(true, true),
  count(false),
  count(true),
  ...RELATIONS.map(relation),
];

/** Attempts before a variant counts as exhausted (e.g. there are only 4 held-out bare singles). */
const MAX_ATTEMPTS = 2000;

function drawPrompts(total: number, heldOut: boolean, rng: Rng, taken: Set<string>): EvalPrompt[] {
  const prompts: EvalPrompt[] = [];
  const exhausted = new Set<Variant>();
  for (let i = 0; prompts.length < total; i++) {
    if (exhausted.size === VARIANTS.length) {
      throw new ShapesError(
        `evalPromptSet: only ${prompts.length} distinct ${heldOut ? "held-out" : "seen"} prompts exist, asked for ${total}`,
      );
    }
    const variant = VARIANTS[i % VARIANTS.length]!;
    if (exhausted.has(variant)) continue;
    let drawn = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !drawn; attempt++) {
      const spec = variant.make(rng);
      const prompt = canonicalCaption(spec);
      if (isHeldOut(spec) !== heldOut || taken.has(prompt)) continue;
      taken.add(prompt);
      prompts.push({ prompt, heldOut, form: spec.form, variant: variant.name });
      drawn = true;
    }
    if (!drawn) exhausted.add(variant);
  }
  return prompts;
}

/**
 * The built-in evaluation set: distinct canonical prompts cycling through every form variant
 * (single with/without size and position, counts with/without size, each relation), `seen` of them
 * from training scenes and `heldOut` from held-out ones. Deterministic by seed.
 *
 * @example
 * evalPromptSet({ seen: 240, heldOut: 80, seed: 0 }) // 320 prompts
 */
export function evalPromptSet(options: EvalSetOptions = {}): EvalPrompt[] {
  const { seen = 240, heldOut = 80, seed = 0 } = options;
  for (const [name, value] of [
    ["seen", seen],
    ["heldOut", heldOut],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 2000) {
      throw new ShapesError(`evalPromptSet: ${name} must be an integer in [0, 2000], got ${value}`);
    }
  }
  const rng = new Rng(seed);
  const taken = new Set<string>();
  return [...drawPrompts(seen, false, rng, taken), ...drawPrompts(heldOut, true, rng, taken)];
}
