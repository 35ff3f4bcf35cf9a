import { ShapesError } from "./errors.ts";
import {
  COLOURS,
  type Colour,
  POSITIONS,
  type Position,
  RELATIONS,
  type Relation,
  SHAPES,
  type Shape,
  SIZES,
  type Size,
} from "./world.ts";

/** One object as a prompt describes it; `size` is absent when the prompt leaves it open. */
export interface ObjectSpec {
  colour: Colour;
  shape: Shape;
  size?: Size;
}

/** "a [small|big] red circle [on the left]": one object, optionally placed. */
export interface SingleSpec {
  form: "single";
  object: ObjectSpec;
  position?: Position;
}

/** "two|three [small|big] red circles": copies of one object. */
export interface CountSpec {
  form: "count";
  object: ObjectSpec;
  count: 2 | 3;
}

/** "a red circle above a blue square": `subject` stands in `relation` to `reference`. */
export interface RelationSpec {
  form: "relation";
  subject: ObjectSpec;
  relation: Relation;
  reference: ObjectSpec;
}

/** What a prompt asks for; plain JSON (it is written to captions.jsonl). */
export type SceneSpec = SingleSpec | CountSpec | RelationSpec;

/** The three prompt forms. */
export type SceneForm = SceneSpec["form"];

/**
 * The colour+shape pairs that never appear in training data, to measure generalisation.
 * Also held out: every scene with a yellow object vertically above a blue one.
 */
export const HELD_OUT_PAIRS: readonly (readonly [Colour, Shape])[] = [
  ["purple", "triangle"],
  ["orange", "circle"],
  ["green", "star"],
  ["red", "square"],
];

/**
 * Every object the scene contains, in order (subject before reference; `count` copies for counts).
 *
 * @example
 * sceneObjects(parsePrompt("two red circles")) // [{colour:"red",shape:"circle"}, {colour:"red",shape:"circle"}]
 */
export function sceneObjects(spec: SceneSpec): ObjectSpec[] {
  switch (spec.form) {
    case "single":
      return [spec.object];
    case "count":
      return Array.from({ length: spec.count }, () => spec.object);
    case "relation":
      return [spec.subject, spec.reference];
  }
}

/**
 * True when the scene is held out of training: it contains a purple triangle, an orange circle,
 * a green star or a red square, or it puts a yellow object above a blue one ("a blue X below a
 * yellow Y" is the same scene). Yellow beside blue is not held out.
 *
 * @example
 * isHeldOut(parsePrompt("a blue square below a yellow circle")) // true
 * isHeldOut(parsePrompt("a yellow circle left of a blue square")) // false
 */
export function isHeldOut(spec: SceneSpec): boolean {
  const pairHeldOut = sceneObjects(spec).some((o) =>
    HELD_OUT_PAIRS.some(([colour, shape]) => o.colour === colour && o.shape === shape),
  );
  if (pairHeldOut) return true;
  if (spec.form !== "relation") return false;
  const { subject, relation, reference } = spec;
  return (
    (relation === "above" && subject.colour === "yellow" && reference.colour === "blue") ||
    (relation === "below" && subject.colour === "blue" && reference.colour === "yellow")
  );
}

function fail(path: string, expected: string, got: unknown): never {
  throw new ShapesError(
    `validateSceneSpec: ${path} must be ${expected}, got ${JSON.stringify(got)}`,
  );
}

function oneOf<T extends string>(values: readonly T[], value: unknown, path: string): T {
  if (typeof value !== "string" || !(values as readonly string[]).includes(value)) {
    fail(path, `one of ${values.join(", ")}`, value);
  }
  return value as T;
}

function validateObject(value: unknown, path: string): ObjectSpec {
  if (typeof value !== "object" || value === null) fail(path, "an object", value);
  const raw = value as Record<string, unknown>;
  const object: ObjectSpec = {
    colour: oneOf(COLOURS, raw.colour, `${path}.colour`),
    shape: oneOf(SHAPES, raw.shape, `${path}.shape`),
  };
  if (raw.size !== undefined) object.size = oneOf(SIZES, raw.size, `${path}.size`);
  return object;
}

/**
 * Checks an untrusted value (e.g. a line of captions.jsonl) and returns it as a clean `SceneSpec`.
 * Throws `ShapesError` naming the first bad field.
 *
 * @example
 * validateSceneSpec(JSON.parse(line).spec)
 */
export function validateSceneSpec(value: unknown): SceneSpec {
  if (typeof value !== "object" || value === null) fail("spec", "an object", value);
  const raw = value as Record<string, unknown>;
  switch (raw.form) {
    case "single": {
      const spec: SingleSpec = { form: "single", object: validateObject(raw.object, "object") };
      if (raw.position !== undefined) spec.position = oneOf(POSITIONS, raw.position, "position");
      return spec;
    }
    case "count": {
      if (raw.count !== 2 && raw.count !== 3) fail("count", "2 or 3", raw.count);
      return { form: "count", object: validateObject(raw.object, "object"), count: raw.count };
    }
    case "relation":
      return {
        form: "relation",
        subject: validateObject(raw.subject, "subject"),
        relation: oneOf(RELATIONS, raw.relation, "relation"),
        reference: validateObject(raw.reference, "reference"),
      };
    default:
      return fail("form", "one of single, count, relation", raw.form);
  }
}
