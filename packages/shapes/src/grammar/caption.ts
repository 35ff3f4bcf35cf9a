import type { Rng } from "../rng.ts";
import type { ObjectSpec, SceneSpec } from "../spec.ts";
import type { Position, Relation, Size } from "../world.ts";
import { article, POSITION_PHRASE } from "./vocabulary.ts";

/** Options of `captionFor`. */
export interface CaptionOptions {
  /** Pick a random paraphrase (the canonical wording is one of them); default false: canonical. */
  paraphrase?: boolean;
}

const SIZE_PARAPHRASES: Readonly<Record<Size, readonly string[]>> = {
  small: ["small", "small", "little", "tiny"],
  big: ["big", "big", "large"],
};

const POSITION_PARAPHRASES: Readonly<Record<Position, readonly string[]>> = {
  left: ["on the left", "to the left", "on the left side", "at the left"],
  right: ["on the right", "to the right", "on the right side", "at the right"],
  top: ["at the top", "on top", "near the top", "at the top"],
  bottom: ["at the bottom", "on the bottom", "near the bottom", "at the bottom"],
  center: ["in the center", "in the centre", "in the middle", "at the center"],
};

/** The bare word used in the comma form "red circle, top". */
const POSITION_WORD_PARAPHRASES: Readonly<Record<Position, readonly string[]>> = {
  left: ["left"],
  right: ["right"],
  top: ["top"],
  bottom: ["bottom"],
  center: ["center", "middle"],
};

const RELATION_PARAPHRASES: Readonly<Record<Relation, readonly string[]>> = {
  above: ["above", "over", "on top of", "is above"],
  below: ["below", "under", "beneath", "underneath", "is below"],
  "left of": ["left of", "to the left of", "on the left of", "is to the left of"],
  "right of": ["right of", "to the right of", "on the right of", "is to the right of"],
};

function describe(object: ObjectSpec, sizeWord: (size: Size) => string, plural = false): string {
  const noun = plural ? `${object.shape}s` : object.shape;
  return object.size === undefined
    ? `${object.colour} ${noun}`
    : `${sizeWord(object.size)} ${object.colour} ${noun}`;
}

function withArticle(phrase: string): string {
  return `${article(phrase)} ${phrase}`;
}

function canonical(spec: SceneSpec): string {
  const plain = (size: Size) => size;
  switch (spec.form) {
    case "single": {
      const noun = withArticle(describe(spec.object, plain));
      return spec.position === undefined ? noun : `${noun} ${POSITION_PHRASE[spec.position]}`;
    }
    case "count":
      return `${spec.count === 2 ? "two" : "three"} ${describe(spec.object, plain, true)}`;
    case "relation":
      return `${withArticle(describe(spec.subject, plain))} ${spec.relation} ${withArticle(describe(spec.reference, plain))}`;
  }
}

function paraphrased(spec: SceneSpec, rng: Rng): string {
  const sizeWord = (size: Size) => rng.pick(SIZE_PARAPHRASES[size]);
  switch (spec.form) {
    case "single": {
      const style = rng.int(0, 3);
      const noun = describe(spec.object, sizeWord);
      if (style === 3) {
        // Telegraphic: "red circle, top" / "big red circle".
        return spec.position === undefined
          ? noun
          : `${noun}, ${rng.pick(POSITION_WORD_PARAPHRASES[spec.position])}`;
      }
      const determined =
        style === 0 ? withArticle(noun) : `${rng.pick(["one", "a single"])} ${noun}`;
      const sentence = rng.chance(0.3) ? `there is ${determined}` : determined;
      return spec.position === undefined
        ? sentence
        : `${sentence} ${rng.pick(POSITION_PARAPHRASES[spec.position])}`;
    }
    case "count": {
      const number =
        spec.count === 2 ? rng.pick(["two", "2", "a pair of"]) : rng.pick(["three", "3"]);
      const phrase = `${number} ${describe(spec.object, sizeWord, true)}`;
      return rng.chance(0.3) ? `there are ${phrase}` : phrase;
    }
    case "relation": {
      const definite = rng.chance(0.3);
      const determine = (phrase: string) => (definite ? `the ${phrase}` : withArticle(phrase));
      const subject = determine(describe(spec.subject, sizeWord));
      const reference = determine(describe(spec.reference, sizeWord));
      const sentence = `${subject} ${rng.pick(RELATION_PARAPHRASES[spec.relation])} ${reference}`;
      return !definite && rng.chance(0.25) ? `there is ${sentence}` : sentence;
    }
  }
}

/**
 * Writes a caption for a scene. Canonical wording by default ("a big red circle on the left",
 * "two blue stars", "a red circle above a blue square"; "an" before "orange"); with
 * `{ paraphrase: true }` one of several wordings that `parsePrompt` maps back to the same spec.
 *
 * @example
 * captionFor(spec, rng)                       // "a small green square at the top"
 * captionFor(spec, rng, { paraphrase: true }) // e.g. "there is a little green square near the top"
 */
export function captionFor(spec: SceneSpec, rng: Rng, options: CaptionOptions = {}): string {
  return options.paraphrase === true ? paraphrased(spec, rng) : canonical(spec);
}

/**
 * The canonical caption of a scene (the wording of the evaluation prompts).
 *
 * @example
 * canonicalCaption({ form: "count", object: { colour: "red", shape: "star" }, count: 3 }) // "three red stars"
 */
export function canonicalCaption(spec: SceneSpec): string {
  return canonical(spec);
}
