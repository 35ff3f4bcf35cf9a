import type { RgbImage } from "../image.ts";
import { PALETTE } from "../world.ts";
import { pixelCoverage, placeOutline } from "./geometry.ts";
import type { SceneLayout } from "./layout.ts";

/**
 * Draws a layout: flat background, flat palette colours, edges anti-aliased by 4x4 supersampling
 * (only pixels near an outline are supersampled, which keeps rendering well under a millisecond).
 *
 * @example
 * const image = rasterize(layoutScene(spec, new Rng(7)));
 */
export function rasterize(layout: SceneLayout): RgbImage {
  const { width, height, background } = layout;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = background[0];
    data[i + 1] = background[1];
    data[i + 2] = background[2];
  }
  for (const object of layout.objects) {
    const outline = placeOutline(object.shape, object.cx, object.cy, object.extent);
    const colour = PALETTE[object.colour];
    const half = object.extent / 2;
    const x0 = Math.max(0, Math.floor(object.cx - half - 1));
    const x1 = Math.min(width - 1, Math.ceil(object.cx + half + 1));
    const y0 = Math.max(0, Math.floor(object.cy - half - 1));
    const y1 = Math.min(height - 1, Math.ceil(object.cy + half + 1));
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        const coverage = pixelCoverage(outline, px, py);
        if (coverage === 0) continue;
        const i = (py * width + px) * 3;
        for (let c = 0; c < 3; c++) {
          const under = data[i + c]!;
          data[i + c] = Math.round(under + (colour[c]! - under) * coverage);
        }
      }
    }
  }
  return { width, height, data };
}
