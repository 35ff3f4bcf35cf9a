import type { Shape } from "../world.ts";

/**
 * Shape outlines. Every shape fills a square box exactly (the star is stretched ~5% vertically to
 * do so), which makes "extent" a single number shared by the renderer and the evaluator.
 * Coordinates are continuous pixels with y pointing down; pixel (i, j) covers [i, i+1) x [j, j+1).
 */

/** Inner radius of the star as a fraction of its outer radius; chunky enough to survive blur at 12 px. */
export const STAR_INNER_RATIO = 0.45;

function starUnitPolygon(): Float64Array {
  const raw: number[] = [];
  for (let k = 0; k < 10; k++) {
    const radius = k % 2 === 0 ? 1 : STAR_INNER_RATIO;
    const angle = -Math.PI / 2 + (k * Math.PI) / 5;
    raw.push(radius * Math.cos(angle), radius * Math.sin(angle));
  }
  let minX = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < raw.length; i += 2) {
    minX = Math.min(minX, raw[i]!);
    maxX = Math.max(maxX, raw[i]!);
    minY = Math.min(minY, raw[i + 1]!);
    maxY = Math.max(maxY, raw[i + 1]!);
  }
  return Float64Array.from(raw, (value, i) =>
    i % 2 === 0 ? (value - minX) / (maxX - minX) - 0.5 : (value - minY) / (maxY - minY) - 0.5,
  );
}

/** Outlines in the unit box [-0.5, 0.5]^2 as flat [x0, y0, x1, y1, ...]; the circle has none. */
const UNIT_POLYGONS: Readonly<Record<Exclude<Shape, "circle">, Float64Array>> = {
  square: Float64Array.of(-0.5, -0.5, 0.5, -0.5, 0.5, 0.5, -0.5, 0.5),
  triangle: Float64Array.of(0, -0.5, 0.5, 0.5, -0.5, 0.5),
  star: starUnitPolygon(),
};

/** A shape placed in pixel space. */
export interface PlacedOutline {
  /**
   * Signed distance to the outline in pixels, negative inside. Exact for squares, triangles, stars
   * and circles; for a circle stretched into an ellipse, a lower bound of its magnitude.
   */
  signedDistance(x: number, y: number): number;
  /** Whether the point is inside. */
  contains(x: number, y: number): boolean;
}

function polygonContains(pts: Float64Array, x: number, y: number): boolean {
  let inside = false;
  const n = pts.length;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    const xi = pts[i]!;
    const yi = pts[i + 1]!;
    const xj = pts[j]!;
    const yj = pts[j + 1]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function polygonEdgeDistance(pts: Float64Array, x: number, y: number): number {
  let best = Number.POSITIVE_INFINITY;
  const n = pts.length;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    const ax = pts[j]!;
    const ay = pts[j + 1]!;
    const ex = pts[i]! - ax;
    const ey = pts[i + 1]! - ay;
    const t = Math.max(0, Math.min(1, ((x - ax) * ex + (y - ay) * ey) / (ex * ex + ey * ey)));
    const dx = x - ax - t * ex;
    const dy = y - ay - t * ey;
    best = Math.min(best, dx * dx + dy * dy);
  }
  return Math.sqrt(best);
}

/**
 * Places `shape` with its box (`width` x `height`, default square) centred on (cx, cy).
 *
 * @example
 * placeOutline("circle", 32, 32, 20).contains(32, 32) // true
 */
export function placeOutline(
  shape: Shape,
  cx: number,
  cy: number,
  width: number,
  height: number = width,
): PlacedOutline {
  if (shape === "circle") {
    const rx = width / 2;
    const ry = height / 2;
    const rMin = Math.min(rx, ry);
    return {
      // Scaling to the unit circle shrinks distances by at most 1 / rMin, hence the bound.
      signedDistance: (x, y) => (Math.hypot((x - cx) / rx, (y - cy) / ry) - 1) * rMin,
      contains: (x, y) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1,
    };
  }
  const unit = UNIT_POLYGONS[shape];
  const pts = unit.map((value, i) => (i % 2 === 0 ? value * width + cx : value * height + cy));
  return {
    signedDistance: (x, y) => {
      const d = polygonEdgeDistance(pts, x, y);
      return polygonContains(pts, x, y) ? -d : d;
    },
    contains: (x, y) => polygonContains(pts, x, y),
  };
}

/** Samples per pixel side on edge pixels (4x4 = 16 samples). */
const SUPERSAMPLE = 4;
/** A pixel whose centre is farther than this from the outline is wholly in or out (half diagonal). */
const EDGE_BAND = 0.71;

/**
 * Fraction of pixel (px, py) covered by the outline: exact 0 or 1 away from the edge, 4x4
 * supersampled near it (the renderer's anti-aliasing).
 */
export function pixelCoverage(outline: PlacedOutline, px: number, py: number): number {
  const d = outline.signedDistance(px + 0.5, py + 0.5);
  if (d >= EDGE_BAND) return 0;
  if (d <= -EDGE_BAND) return 1;
  const step = 1 / SUPERSAMPLE;
  let hits = 0;
  for (let sy = 0; sy < SUPERSAMPLE; sy++) {
    for (let sx = 0; sx < SUPERSAMPLE; sx++) {
      if (outline.contains(px + (sx + 0.5) * step, py + (sy + 0.5) * step)) hits++;
    }
  }
  return hits / (SUPERSAMPLE * SUPERSAMPLE);
}

/**
 * Whether the point (u, v) of the unit box [-0.5, 0.5]^2 is inside `shape`; the evaluator's templates.
 */
export function unitContains(shape: Shape, u: number, v: number): boolean {
  if (shape === "circle") return u * u + v * v < 0.25;
  return polygonContains(UNIT_POLYGONS[shape], u, v);
}
