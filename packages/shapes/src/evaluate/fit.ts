import { unitContains } from "../render/geometry.ts";
import { SHAPES, type Shape } from "../world.ts";
import type { Region, Segmentation } from "./segment.ts";

/** A shape hypothesis fitted to a region. */
export interface ShapeFit {
  shape: Shape;
  /** Centre and size of the shape's box, continuous pixel coordinates. */
  cx: number;
  cy: number;
  width: number;
  height: number;
  /** How many 3x3 box blurs the best-matching synthetic render went through (0..2). */
  blur: number;
  /** Soft IoU of the region with that render, in [0, 1]. */
  score: number;
}

/** Pixels around a region's box that still count towards it (faint anti-aliased or blurred edges). */
const WINDOW_PAD = 3;
/** Fainter pixels are background noise. */
const MIN_ALPHA = 0.1;
/** Blur hypotheses: 0, 1 or 2 passes of a 3x3 box blur (each adds variance 2/3 px^2 per axis). */
const BLUR_PASSES = [0, 1, 2] as const;
const BOX_BLUR_VARIANCE = 2 / 3;

/** Samples per side of the unit-box grid behind the templates. */
const GRID = 256;

/** What the fitter knows about one unit outline, measured once on a fine grid. */
interface UnitTemplate {
  /** Standard deviations of the filled unit box along x and y, and the centroid's y offset. */
  sx: number;
  sy: number;
  oy: number;
  /** Summed-area table over (GRID + 1)^2 nodes: the filled fraction of [0, u] x [0, v]. */
  table: Float64Array;
}

let templates: Record<Shape, UnitTemplate> | undefined;

function unitTemplates(): Record<Shape, UnitTemplate> {
  if (templates) return templates;
  const result = {} as Record<Shape, UnitTemplate>;
  const cell = 1 / (GRID * GRID);
  for (const shape of SHAPES) {
    const table = new Float64Array((GRID + 1) * (GRID + 1));
    let count = 0;
    let sumY = 0;
    let sumXX = 0;
    let sumYY = 0;
    for (let j = 0; j < GRID; j++) {
      const v = (j + 0.5) / GRID - 0.5;
      let row = 0;
      for (let i = 0; i < GRID; i++) {
        const u = (i + 0.5) / GRID - 0.5;
        if (unitContains(shape, u, v)) {
          count++;
          sumY += v;
          sumXX += u * u;
          sumYY += v * v;
          row += cell;
        }
        table[(j + 1) * (GRID + 1) + i + 1] = table[j * (GRID + 1) + i + 1]! + row;
      }
    }
    const oy = sumY / count;
    result[shape] = {
      sx: Math.sqrt(sumXX / count),
      sy: Math.sqrt(sumYY / count - oy * oy),
      oy,
      table,
    };
  }
  templates = result;
  return result;
}

/** Filled fraction of the unit box [0, u] x [0, v] (u, v clamped to [0, 1]), bilinear between nodes. */
function integral(table: Float64Array, u: number, v: number): number {
  const gu = Math.min(GRID, Math.max(0, u * GRID));
  const gv = Math.min(GRID, Math.max(0, v * GRID));
  const i = Math.min(GRID - 1, Math.floor(gu));
  const j = Math.min(GRID - 1, Math.floor(gv));
  const fu = gu - i;
  const fv = gv - j;
  const n = GRID + 1;
  const a = table[j * n + i]!;
  const b = table[j * n + i + 1]!;
  const c = table[(j + 1) * n + i]!;
  const d = table[(j + 1) * n + i + 1]!;
  return (a * (1 - fu) + b * fu) * (1 - fv) + (c * (1 - fu) + d * fu) * fv;
}

/**
 * Coverage of every window pixel by the outline in box (cx, cy, w, h): the template's area inside
 * each pixel's footprint, read from the summed-area table (sub-pixel exact, like supersampling).
 */
function drawTemplate(
  template: UnitTemplate,
  cx: number,
  cy: number,
  boxW: number,
  boxH: number,
  out: Float32Array,
  w: number,
  h: number,
): void {
  const x0 = Math.max(0, Math.floor(cx - boxW / 2));
  const x1 = Math.min(w - 1, Math.ceil(cx + boxW / 2));
  const y0 = Math.max(0, Math.floor(cy - boxH / 2));
  const y1 = Math.min(h - 1, Math.ceil(cy + boxH / 2));
  const pixelArea = 1 / (boxW * boxH);
  for (let y = y0; y <= y1; y++) {
    const v0 = (y - cy) / boxH + 0.5;
    const v1 = (y + 1 - cy) / boxH + 0.5;
    for (let x = x0; x <= x1; x++) {
      const u0 = (x - cx) / boxW + 0.5;
      const u1 = (x + 1 - cx) / boxW + 0.5;
      const { table } = template;
      const area =
        integral(table, u1, v1) -
        integral(table, u0, v1) -
        integral(table, u1, v0) +
        integral(table, u0, v0);
      out[y * w + x] = Math.min(1, Math.max(0, area / pixelArea));
    }
  }
}

function boxBlur(values: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = Math.min(h - 1, Math.max(0, y + dy));
        for (let dx = -1; dx <= 1; dx++) {
          sum += values[yy * w + Math.min(w - 1, Math.max(0, x + dx))]!;
        }
      }
      out[y * w + x] = sum / 9;
    }
  }
  return out;
}

/**
 * Scores a region against each shape by analysis-by-synthesis: for every shape, the box that
 * shape would need to produce the region's centroid and spread (second moments of the soft mask)
 * is drawn with exact per-pixel area coverage (as the renderer anti-aliases), optionally blurred,
 * and compared with the region by soft IoU. Shapes never rotate in this world, so this captures
 * what fill ratio and corner features would (circle fills ~0.785 of its box, square 1, triangle
 * 0.5, star ~0.38 with concavities), and the blur hypotheses keep small stars recognisable in the
 * soft renders of a generative model.
 *
 * @example
 * const { scores, best } = fitShapes(segmentation, 64, 64, region); // best.shape, best.width
 */
export function fitShapes(
  segmentation: Segmentation,
  width: number,
  height: number,
  region: Region,
): { scores: Record<Shape, number>; best: ShapeFit } {
  const { ids, colourIndex, alpha } = segmentation;
  const x0 = Math.max(0, region.box.x - WINDOW_PAD);
  const y0 = Math.max(0, region.box.y - WINDOW_PAD);
  const x1 = Math.min(width, region.box.x + region.box.width + WINDOW_PAD);
  const y1 = Math.min(height, region.box.y + region.box.height + WINDOW_PAD);
  const w = x1 - x0;
  const h = y1 - y0;

  // Soft mask: the region itself plus faint unclaimed pixels of the same colour around it.
  const mask = new Float32Array(w * h);
  let mass = 0;
  let meanX = 0;
  let meanY = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y0 + y) * width + x0 + x;
      const own = ids[p] === region.id;
      const faint = ids[p] === -1 && colourIndex[p] === region.colourIndex;
      const a = own || (faint && alpha[p]! >= MIN_ALPHA) ? alpha[p]! : 0;
      mask[y * w + x] = a;
      mass += a;
      meanX += a * (x + 0.5);
      meanY += a * (y + 0.5);
    }
  }
  meanX /= mass;
  meanY /= mass;
  let varX = 0;
  let varY = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = mask[y * w + x]!;
      varX += a * (x + 0.5 - meanX) ** 2;
      varY += a * (y + 0.5 - meanY) ** 2;
    }
  }
  varX /= mass;
  varY /= mass;

  const unit = unitTemplates();
  const scores = {} as Record<Shape, number>;
  let best: ShapeFit | undefined;
  for (const shape of SHAPES) {
    scores[shape] = 0;
    for (const passes of BLUR_PASSES) {
      const blurVariance = passes * BOX_BLUR_VARIANCE;
      const boxW = Math.sqrt(Math.max(0.25, varX - blurVariance)) / unit[shape].sx;
      const boxH = Math.sqrt(Math.max(0.25, varY - blurVariance)) / unit[shape].sy;
      const cx = meanX;
      const cy = meanY - unit[shape].oy * boxH;
      let synthetic: Float32Array = new Float32Array(w * h);
      drawTemplate(unit[shape], cx, cy, boxW, boxH, synthetic, w, h);
      for (let pass = 0; pass < passes; pass++) synthetic = boxBlur(synthetic, w, h);
      let intersection = 0;
      let union = 0;
      for (let i = 0; i < mask.length; i++) {
        const a = mask[i]!;
        const b = synthetic[i]!;
        intersection += Math.min(a, b);
        union += Math.max(a, b);
      }
      const score = union > 0 ? intersection / union : 0;
      if (score > scores[shape]) scores[shape] = score;
      if (best === undefined || score > best.score) {
        best = { shape, cx: cx + x0, cy: cy + y0, width: boxW, height: boxH, blur: passes, score };
      }
    }
  }
  return { scores, best: best! };
}
