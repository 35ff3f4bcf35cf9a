/**
 * The closed vocabulary and the fixed geometry of the Easel Shapes world.
 * Everything else (renderer, grammar, evaluator) is built on these tables.
 */

/** The seven colours, in a fixed order used by the samplers. */
export const COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black"] as const;
/** A colour of the palette. */
export type Colour = (typeof COLOURS)[number];

/** The four shapes. Squares are axis-aligned; triangles and stars point up. */
export const SHAPES = ["circle", "square", "triangle", "star"] as const;
/** A shape of the world. */
export type Shape = (typeof SHAPES)[number];

/** The two size classes. */
export const SIZES = ["small", "big"] as const;
/** A size class. */
export type Size = (typeof SIZES)[number];

/** The five positions of a single object, each a third of the image (center: the middle cell). */
export const POSITIONS = ["left", "right", "top", "bottom", "center"] as const;
/** A position of a single object. */
export type Position = (typeof POSITIONS)[number];

/** The four relations between two objects ("<subject> <relation> <reference>"). */
export const RELATIONS = ["above", "below", "left of", "right of"] as const;
/** A spatial relation. */
export type Relation = (typeof RELATIONS)[number];

/** Width and height of every scene, in pixels. */
export const IMAGE_SIZE = 64;

/** An RGB triple, 0..255 per channel. */
export type Rgb = readonly [number, number, number];

/**
 * The palette. Chosen so that every pair is at least ~100 apart in RGB (the closest pairs are
 * red/orange and orange/yellow) and every colour is far from the light background, which keeps
 * colour recognisable both for a small diffusion model and for the evaluator.
 */
export const PALETTE: Readonly<Record<Colour, Rgb>> = {
  red: [212, 30, 40],
  green: [30, 160, 60],
  blue: [30, 88, 226],
  yellow: [240, 220, 40],
  purple: [140, 50, 180],
  orange: [250, 125, 10],
  black: [24, 24, 28],
};

/** The base background colour; each scene shifts it by at most `BACKGROUND_JITTER` per channel. */
export const BACKGROUND: Rgb = [242, 240, 232];
/** The largest per-channel shift of a scene's background from `BACKGROUND`. */
export const BACKGROUND_JITTER = 4;

/**
 * Side of an object's bounding box in pixels, per size class, at 64x64 (inclusive range).
 * Every shape fills its square box, so the side is also the object's width and height.
 */
export const EXTENT_RANGE: Readonly<Record<Size, readonly [number, number]>> = {
  small: [12, 16],
  big: [24, 29],
};

/** Box sides below this (scaled to 64 px) are judged small, at or above it big. */
export const SIZE_THRESHOLD = 20;
