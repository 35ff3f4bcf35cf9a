import { ShapesError } from "../errors.ts";
import type { RgbImage } from "../image.ts";
import { type ObjectSpec, type SceneSpec, sceneObjects } from "../spec.ts";
import {
  type Colour,
  IMAGE_SIZE,
  type Position,
  type Relation,
  type Shape,
  SIZE_THRESHOLD,
  type Size,
} from "../world.ts";
import { fitShapes } from "./fit.ts";
import { type SegmentOptions, segment } from "./segment.ts";

/** An object the evaluator found in an image. */
export interface DetectedObject {
  colour: Colour;
  shape: Shape;
  size: Size;
  /** Pixels in the object (at least half-way to its colour). */
  area: number;
  /** Pixel bounding box: columns [x, x + width), rows [y, y + height). */
  box: { x: number; y: number; width: number; height: number };
  /** Centre of the fitted shape's box (continuous pixel coordinates); positions and relations use it. */
  centre: { x: number; y: number };
  /** Side of the fitted shape's box, sqrt(width * height), scaled to a 64 px image; >= 20 is big. */
  extent: number;
  /** Fit score per shape, in [0, 1]; `shape` is the best. */
  shapeScores: Record<Shape, number>;
}

/**
 * Per-attribute judgement. `colour`, `shape` and `count` always apply; `size`, `position` and
 * `relation` are `null` when the prompt does not mention them.
 */
export interface VerdictAttributes {
  colour: boolean;
  shape: boolean;
  count: boolean;
  size: boolean | null;
  position: boolean | null;
  relation: boolean | null;
}

/** The result of `evaluate`. */
export interface Verdict {
  /** True when every applicable attribute is right. */
  correct: boolean;
  attributes: VerdictAttributes;
  /** Every object found, largest first. */
  found: DetectedObject[];
}

/** Options of `evaluate`. */
export interface EvaluateOptions extends SegmentOptions {
  /** Smallest centre offset (px at 64x64) along the stated axis for a relation to hold. Default 4. */
  relationMargin?: number;
}

/** Only this many largest objects take part in matching; more is clutter and fails `count` anyway. */
const MAX_MATCHED = 8;

/**
 * Finds the objects of an image: palette-colour regions, each classified by shape and size.
 *
 * @example
 * detectObjects(renderScene(parsePrompt("a big red star"), new Rng(0)))[0] // { colour: "red", shape: "star", size: "big", ... }
 */
export function detectObjects(img: RgbImage, options: SegmentOptions = {}): DetectedObject[] {
  const segmentation = segment(img, options);
  const scale = IMAGE_SIZE / Math.sqrt(img.width * img.height);
  return segmentation.regions.map((region) => {
    const { scores, best } = fitShapes(segmentation, img.width, img.height, region);
    const extent = Math.sqrt(best.width * best.height) * scale;
    return {
      colour: region.colour,
      shape: best.shape,
      size: extent >= SIZE_THRESHOLD ? "big" : "small",
      area: region.area,
      box: region.box,
      centre: { x: best.cx, y: best.cy },
      extent,
      shapeScores: scores,
    };
  });
}

/** Whether the object's centre is in the named third (center: the middle cell of the 3x3 grid). */
function inPosition(img: RgbImage, object: DetectedObject, position: Position): boolean {
  const column = Math.min(2, Math.floor((object.centre.x * 3) / img.width));
  const row = Math.min(2, Math.floor((object.centre.y * 3) / img.height));
  switch (position) {
    case "left":
      return column === 0;
    case "right":
      return column === 2;
    case "top":
      return row === 0;
    case "bottom":
      return row === 2;
    case "center":
      return column === 1 && row === 1;
  }
}

/**
 * Whether `subject` stands in `relation` to `reference`: the centres must be at least `margin` apart
 * along the stated axis, and that offset must dominate the offset across it (so a diagonal layout
 * is "above" or "left of", not both).
 */
function holds(
  relation: Relation,
  subject: DetectedObject,
  reference: DetectedObject,
  margin: number,
): boolean {
  const dx = reference.centre.x - subject.centre.x;
  const dy = reference.centre.y - subject.centre.y;
  const [along, across] =
    relation === "above"
      ? [dy, dx]
      : relation === "below"
        ? [-dy, dx]
        : relation === "left of"
          ? [dx, dy]
          : [-dx, dy];
  return along >= margin && Math.abs(across) <= along;
}

function matchScore(expected: ObjectSpec, found: DetectedObject): number {
  return (
    (expected.colour === found.colour ? 4 : 0) +
    (expected.shape === found.shape ? 2 : 0) +
    (expected.size !== undefined && expected.size === found.size ? 1 : 0)
  );
}

/**
 * Assigns expected objects to distinct found ones, maximising colour > shape > size agreement,
 * with the stated position or relation as tie-breaker (e.g. which of two red circles is "above").
 * Unassignable expected objects (too few found) map to undefined.
 */
function assign(
  img: RgbImage,
  spec: SceneSpec,
  expected: ObjectSpec[],
  found: DetectedObject[],
  margin: number,
): (DetectedObject | undefined)[] {
  const candidates = found.slice(0, MAX_MATCHED);
  let best: (DetectedObject | undefined)[] = expected.map(() => undefined);
  let bestScore = Number.NEGATIVE_INFINITY;
  const current: (DetectedObject | undefined)[] = [];
  const bonus = (): number => {
    if (spec.form === "single" && spec.position !== undefined && current[0]) {
      return inPosition(img, current[0], spec.position) ? 0.5 : 0;
    }
    if (spec.form === "relation" && current[0] && current[1]) {
      return holds(spec.relation, current[0], current[1], margin) ? 0.5 : 0;
    }
    return 0;
  };
  const visit = (i: number, used: Set<DetectedObject>, score: number): void => {
    if (i === expected.length) {
      const total = score + bonus();
      if (total > bestScore) {
        bestScore = total;
        best = [...current];
      }
      return;
    }
    let assignedAny = false;
    for (const candidate of candidates) {
      if (used.has(candidate)) continue;
      assignedAny = true;
      used.add(candidate);
      current[i] = candidate;
      visit(i + 1, used, score + matchScore(expected[i]!, candidate));
      used.delete(candidate);
    }
    if (!assignedAny) {
      current[i] = undefined;
      visit(i + 1, used, score);
    }
  };
  visit(0, new Set(), 0);
  return best;
}

function checkImage(img: RgbImage): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 3 || height < 3) {
    throw new ShapesError(
      `evaluate: image width and height must be integers >= 3, got ${width}x${height}`,
    );
  }
  if (data.length !== width * height * 3) {
    throw new ShapesError(
      `evaluate: image data length must be ${width}x${height}x3 = ${width * height * 3}, got ${data.length}`,
    );
  }
}

/**
 * Judges whether an image shows what a scene spec asks for. Objects are found by colour
 * (background/palette unmixing + connected components), shapes by template fit, sizes by box side
 * (>= 20 px at 64x64 is big), positions by which third the box centre is in, relations by
 * comparing centres with a margin. `count` requires exactly as many objects as the prompt names
 * (stray objects fail it).
 *
 * @example
 * const verdict = evaluate(image, parsePrompt("two small blue squares"));
 * verdict.correct; verdict.attributes.count; verdict.found
 */
export function evaluate(img: RgbImage, spec: SceneSpec, options: EvaluateOptions = {}): Verdict {
  checkImage(img);
  const { relationMargin = 4, ...segmentOptions } = options;
  const margin = (relationMargin * Math.sqrt(img.width * img.height)) / IMAGE_SIZE;
  const found = detectObjects(img, segmentOptions);
  const expected = sceneObjects(spec);
  const assigned = assign(img, spec, expected, found, margin);
  const pairs = expected.flatMap((e, i) => {
    const f = assigned[i];
    return f ? [[e, f] as const] : [];
  });
  const foundColours = new Set(found.map((f) => f.colour));
  const foundShapes = new Set(found.map((f) => f.shape));
  const sized = pairs.filter(([e]) => e.size !== undefined);
  const attributes: VerdictAttributes = {
    colour:
      pairs.length > 0 &&
      pairs.every(([e, f]) => e.colour === f.colour) &&
      expected.every((e) => foundColours.has(e.colour)),
    shape:
      pairs.length > 0 &&
      pairs.every(([e, f]) => e.shape === f.shape) &&
      expected.every((e) => foundShapes.has(e.shape)),
    count: found.length === expected.length,
    size: expected.some((e) => e.size !== undefined)
      ? sized.length > 0 && sized.every(([e, f]) => e.size === f.size)
      : null,
    position: null,
    relation: null,
  };
  if (spec.form === "single" && spec.position !== undefined) {
    const target = assigned[0];
    attributes.position = target !== undefined && inPosition(img, target, spec.position);
  }
  if (spec.form === "relation") {
    const [subject, reference] = assigned;
    attributes.relation =
      subject !== undefined &&
      reference !== undefined &&
      holds(spec.relation, subject, reference, margin);
  }
  const correct = Object.values(attributes).every((value) => value !== false);
  return { correct, attributes, found };
}
