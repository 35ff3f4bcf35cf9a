import { ShapesError } from "../errors.ts";
import type { Rng } from "../rng.ts";
import type { ObjectSpec, RelationSpec, SceneSpec } from "../spec.ts";
import {
  BACKGROUND,
  BACKGROUND_JITTER,
  type Colour,
  EXTENT_RANGE,
  IMAGE_SIZE,
  type Position,
  type Rgb,
  type Shape,
  SIZES,
  type Size,
} from "../world.ts";

/** One object with its final size and place: what the rasteriser draws. */
export interface PlacedObject {
  colour: Colour;
  shape: Shape;
  size: Size;
  /** Side of the object's square box in pixels. */
  extent: number;
  /** Centre of the box, continuous pixel coordinates. */
  cx: number;
  cy: number;
}

/** A fully decided scene. */
export interface SceneLayout {
  width: number;
  height: number;
  background: Rgb;
  objects: PlacedObject[];
}

/** Smallest distance from an object's box to the image border. */
const BORDER_MARGIN = 1;
/** A placed centre stays this far from the thirds lines, so blur cannot flip its position. */
const THIRDS_MARGIN = 2;
/** Smallest gap between the boxes of two objects of a count scene. */
const COUNT_GAP = 4;
/** Layout attempts for a count scene; three copies at the smallest extent fit on the first few. */
const MAX_COUNT_ATTEMPTS = 200;
/** Smallest gap along the stated axis between the two objects of a relation. */
const RELATION_GAP = 3;
/** The offset across the stated axis is at most this fraction of the offset along it. */
const RELATION_ACROSS_RATIO = 0.5;

const CELL: Readonly<Record<Position, readonly [number, number]>> = {
  left: [0, 1],
  right: [2, 1],
  top: [1, 0],
  bottom: [1, 2],
  center: [1, 1],
};

function pickExtent(size: Size, rng: Rng): number {
  const [lo, hi] = EXTENT_RANGE[size];
  return rng.range(lo, hi);
}

function pickSize(object: ObjectSpec, rng: Rng): Size {
  return object.size ?? rng.pick(SIZES);
}

/** A centre coordinate for a box of side `extent` inside third `cell` (0, 1, 2) of the axis. */
function centreInThird(cell: number, extent: number, rng: Rng): number {
  const third = IMAGE_SIZE / 3;
  const lo = Math.max(cell * third + THIRDS_MARGIN, extent / 2 + BORDER_MARGIN);
  const hi = Math.min((cell + 1) * third - THIRDS_MARGIN, IMAGE_SIZE - extent / 2 - BORDER_MARGIN);
  return rng.range(lo, Math.max(lo, hi));
}

function centreAnywhere(extent: number, rng: Rng): number {
  return rng.range(extent / 2 + BORDER_MARGIN, IMAGE_SIZE - extent / 2 - BORDER_MARGIN);
}

function pickBackground(rng: Rng): Rgb {
  return [
    BACKGROUND[0] + rng.int(-BACKGROUND_JITTER, BACKGROUND_JITTER),
    BACKGROUND[1] + rng.int(-BACKGROUND_JITTER, BACKGROUND_JITTER),
    BACKGROUND[2] + rng.int(-BACKGROUND_JITTER, BACKGROUND_JITTER),
  ];
}

function layoutSingle(object: ObjectSpec, position: Position | undefined, rng: Rng): PlacedObject {
  const size = pickSize(object, rng);
  const extent = pickExtent(size, rng);
  // Unplaced objects still sit inside one cell of the 3x3 grid, never on a thirds line.
  const [cellX, cellY] = position ? CELL[position] : [rng.int(0, 2), rng.int(0, 2)];
  return {
    colour: object.colour,
    shape: object.shape,
    size,
    extent,
    cx: centreInThird(cellX, extent, rng),
    cy: centreInThird(cellY, extent, rng),
  };
}

function layoutCount(object: ObjectSpec, count: number, rng: Rng): PlacedObject[] {
  const size = pickSize(object, rng);
  let extent = pickExtent(size, rng);
  const minExtent = EXTENT_RANGE[size][0];
  for (let attempt = 0; attempt < MAX_COUNT_ATTEMPTS; attempt++) {
    const centres: [number, number][] = [];
    for (let tries = 0; centres.length < count && tries < 60; tries++) {
      const c: [number, number] = [centreAnywhere(extent, rng), centreAnywhere(extent, rng)];
      const apart = centres.every(
        ([x, y]) =>
          Math.abs(x - c[0]) >= extent + COUNT_GAP || Math.abs(y - c[1]) >= extent + COUNT_GAP,
      );
      if (apart) centres.push(c);
    }
    if (centres.length === count) {
      return centres.map(([cx, cy]) => ({
        colour: object.colour,
        shape: object.shape,
        size,
        extent,
        cx,
        cy,
      }));
    }
    // Three big copies only just fit; shrink within the size class after a few failures.
    if (attempt % 4 === 3) extent = Math.max(minExtent, extent - 1);
  }
  throw new ShapesError(
    `layoutScene: could not place ${count} ${size} objects apart in ${MAX_COUNT_ATTEMPTS} attempts`,
  );
}

function layoutRelation(spec: RelationSpec, rng: Rng): PlacedObject[] {
  const subjectSize = pickSize(spec.subject, rng);
  const referenceSize = pickSize(spec.reference, rng);
  const placed = [
    { spec: spec.subject, size: subjectSize, extent: pickExtent(subjectSize, rng) },
    { spec: spec.reference, size: referenceSize, extent: pickExtent(referenceSize, rng) },
  ];
  // "first" is the object with the smaller coordinate on the stated axis.
  const vertical = spec.relation === "above" || spec.relation === "below";
  const subjectFirst = spec.relation === "above" || spec.relation === "left of";
  const [first, second] = subjectFirst ? [placed[0]!, placed[1]!] : [placed[1]!, placed[0]!];
  const usable = IMAGE_SIZE - 2 * BORDER_MARGIN;
  const gap = rng.range(
    RELATION_GAP,
    Math.max(RELATION_GAP, usable - first.extent - second.extent),
  );
  const span = first.extent + gap + second.extent;
  const start = rng.range(
    BORDER_MARGIN,
    Math.max(BORDER_MARGIN, IMAGE_SIZE - BORDER_MARGIN - span),
  );
  const along1 = start + first.extent / 2;
  const along2 = start + first.extent + gap + second.extent / 2;
  const across1 = centreAnywhere(first.extent, rng);
  const maxOffset = RELATION_ACROSS_RATIO * (along2 - along1);
  const lo = Math.max(second.extent / 2 + BORDER_MARGIN, across1 - maxOffset);
  const hi = Math.min(IMAGE_SIZE - second.extent / 2 - BORDER_MARGIN, across1 + maxOffset);
  const across2 = rng.range(lo, Math.max(lo, hi));
  const toObject = (
    entry: (typeof placed)[number],
    along: number,
    across: number,
  ): PlacedObject => ({
    colour: entry.spec.colour,
    shape: entry.spec.shape,
    size: entry.size,
    extent: entry.extent,
    cx: vertical ? across : along,
    cy: vertical ? along : across,
  });
  const firstObject = toObject(first, along1, across1);
  const secondObject = toObject(second, along2, across2);
  return subjectFirst ? [firstObject, secondObject] : [secondObject, firstObject];
}

/**
 * Decides every open choice of a scene (sizes left open, exact places, background shade) from `rng`.
 * Objects never overlap; single objects sit inside the third(s) their position names; relation
 * objects are separated along the stated axis by at least 3 px and offset across it by at most
 * half that distance. Objects are listed in spec order (subject, then reference).
 *
 * @example
 * layoutScene(parsePrompt("a red circle above a blue square"), new Rng(1)).objects[0].cy // < objects[1].cy
 */
export function layoutScene(spec: SceneSpec, rng: Rng): SceneLayout {
  const background = pickBackground(rng);
  let objects: PlacedObject[];
  switch (spec.form) {
    case "single":
      objects = [layoutSingle(spec.object, spec.position, rng)];
      break;
    case "count":
      objects = layoutCount(spec.object, spec.count, rng);
      break;
    case "relation":
      objects = layoutRelation(spec, rng);
      break;
  }
  return { width: IMAGE_SIZE, height: IMAGE_SIZE, background, objects };
}
