import type { RgbImage } from "../image.ts";
import { COLOURS, type Colour, PALETTE, type Rgb } from "../world.ts";

/** A connected region of one palette colour. */
export interface Region {
  colour: Colour;
  /** Number of pixels. */
  area: number;
  /** Bounding box in pixels: columns [x, x + width), rows [y, y + height). */
  box: { x: number; y: number; width: number; height: number };
  /** Component id in `Segmentation.ids`. */
  id: number;
  /** Index of `colour` in COLOURS. */
  colourIndex: number;
}

/** The result of `segment`. */
export interface Segmentation {
  /** Estimated background colour (median of the border pixels). */
  background: Rgb;
  /** Per pixel: region id, or -1 for background / unrecognised pixels. */
  ids: Int32Array;
  /** Per pixel: index into COLOURS of the colour line nearest to the pixel (even when faint). */
  colourIndex: Int8Array;
  /** Per pixel: how far (0..1) the pixel is from the background towards its `colourIndex` colour. */
  alpha: Float32Array;
  /** Regions of at least `minArea` pixels, largest first. */
  regions: Region[];
}

/** Options of `segment`. */
export interface SegmentOptions {
  /** Regions smaller than this many pixels (at 64x64; scaled with the image area) are noise. Default 20. */
  minArea?: number;
  /** Largest RGB distance of a pixel from its colour's background-to-colour line. Default 80. */
  maxResidual?: number;
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  return values[values.length >> 1] ?? 0;
}

function borderBackground(img: RgbImage): Rgb {
  const { width, height, data } = img;
  const channels: [number[], number[], number[]] = [[], [], []];
  const push = (x: number, y: number) => {
    const i = (y * width + x) * 3;
    for (let c = 0; c < 3; c++) channels[c as 0 | 1 | 2].push(data[i + c]!);
  };
  for (let x = 0; x < width; x++) {
    push(x, 0);
    push(x, height - 1);
  }
  for (let y = 1; y < height - 1; y++) {
    push(0, y);
    push(width - 1, y);
  }
  return [median(channels[0]), median(channels[1]), median(channels[2])];
}

/**
 * Labels each pixel with the palette colour that explains it, treating it as a mix of that colour
 * and the background: a pixel belongs to colour k when it is at least half-way from the background
 * to k along the line between them and close to that line. Unmixing (rather than nearest colour)
 * keeps anti-aliased and blurred edges from turning into rings of a third colour, e.g. grey edges
 * of a black shape read as half-black, not as green.
 */
function labelPixels(
  img: RgbImage,
  background: Rgb,
  maxResidual: number,
): { labels: Int8Array; colourIndex: Int8Array; alpha: Float32Array } {
  const { width, height, data } = img;
  const labels = new Int8Array(width * height).fill(-1);
  const colourIndex = new Int8Array(width * height);
  const alphas = new Float32Array(width * height);
  const directions = COLOURS.map((colour) => {
    const c = PALETTE[colour];
    const v = [c[0] - background[0], c[1] - background[1], c[2] - background[2]] as const;
    return { v, inverseNorm2: 1 / (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] || 1) };
  });
  const maxResidual2 = maxResidual * maxResidual;
  for (let p = 0; p < width * height; p++) {
    const d0 = data[p * 3]! - background[0];
    const d1 = data[p * 3 + 1]! - background[1];
    const d2 = data[p * 3 + 2]! - background[2];
    let best = -1;
    let bestAlpha = 0;
    let bestResidual2 = Number.POSITIVE_INFINITY;
    for (let k = 0; k < directions.length; k++) {
      const { v, inverseNorm2 } = directions[k]!;
      const alpha = Math.min(1, Math.max(0, (d0 * v[0] + d1 * v[1] + d2 * v[2]) * inverseNorm2));
      const r0 = d0 - alpha * v[0];
      const r1 = d1 - alpha * v[1];
      const r2 = d2 - alpha * v[2];
      const residual2 = r0 * r0 + r1 * r1 + r2 * r2;
      if (residual2 < bestResidual2) {
        bestResidual2 = residual2;
        bestAlpha = alpha;
        best = k;
      }
    }
    // The colour is chosen before the half-way test, so a faint black edge stays (faint) black
    // instead of passing as a strong mix of some other colour.
    colourIndex[p] = best;
    alphas[p] = bestResidual2 > maxResidual2 ? 0 : bestAlpha;
    labels[p] = bestAlpha < 0.5 || bestResidual2 > maxResidual2 ? -1 : best;
  }
  return { labels, colourIndex, alpha: alphas };
}

/**
 * Splits an image into same-colour connected regions (8-connectivity) on a light background.
 *
 * @example
 * segment(renderScene(parsePrompt("two red circles"), new Rng(1))).regions.length // 2
 */
export function segment(img: RgbImage, options: SegmentOptions = {}): Segmentation {
  const { minArea = 20, maxResidual = 80 } = options;
  const { width, height } = img;
  const background = borderBackground(img);
  const { labels, colourIndex, alpha } = labelPixels(img, background, maxResidual);
  const ids = new Int32Array(width * height).fill(-1);
  const scaledMinArea = (minArea * width * height) / 4096;
  const regions: Region[] = [];
  const stack = new Int32Array(width * height);
  let nextId = 0;
  for (let start = 0; start < labels.length; start++) {
    const label = labels[start]!;
    if (label < 0 || ids[start] !== -1) continue;
    const id = nextId++;
    let top = 0;
    stack[top++] = start;
    ids[start] = id;
    const members: number[] = [];
    let minX = width;
    let maxX = -1;
    let minY = height;
    let maxY = -1;
    while (top > 0) {
      const p = stack[--top]!;
      members.push(p);
      const x = p % width;
      const y = (p - x) / width;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (ids[q] === -1 && labels[q] === label) {
            ids[q] = id;
            stack[top++] = q;
          }
        }
      }
    }
    if (members.length < scaledMinArea) {
      // Specks are noise: unlabel them so they never count as objects.
      for (const p of members) ids[p] = -2;
      continue;
    }
    regions.push({
      colour: COLOURS[label]!,
      area: members.length,
      box: { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 },
      id,
      colourIndex: label,
    });
  }
  for (let p = 0; p < ids.length; p++) if (ids[p] === -2) ids[p] = -1;
  regions.sort((a, b) => b.area - a.area);
  return { background, ids, colourIndex, alpha, regions };
}
