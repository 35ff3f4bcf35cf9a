import type { RgbImage } from "./image.ts";

/** Options of `contactSheet`. */
export interface ContactSheetOptions {
  /** Tiles per row. Default 8. */
  columns?: number;
  /** Integer upscaling of each tile (nearest neighbour). Default 2. */
  scale?: number;
  /** Pixels between tiles. Default 2. */
  gutter?: number;
}

/**
 * Lays images out in a grid (row-major, in order) for humans to look at.
 *
 * @example
 * const sheet = contactSheet(items.map((i) => i.image), { columns: 8, scale: 2 });
 */
export function contactSheet(
  images: readonly RgbImage[],
  options: ContactSheetOptions = {},
): RgbImage {
  const { columns = 8, scale = 2, gutter = 2 } = options;
  const first = images[0];
  if (first === undefined) return { width: 1, height: 1, data: new Uint8Array([128, 128, 128]) };
  const tileW = first.width * scale;
  const tileH = first.height * scale;
  const cols = Math.min(columns, images.length);
  const rows = Math.ceil(images.length / cols);
  const width = cols * tileW + (cols + 1) * gutter;
  const height = rows * tileH + (rows + 1) * gutter;
  const data = new Uint8Array(width * height * 3).fill(128);
  images.forEach((img, n) => {
    const left = gutter + (n % cols) * (tileW + gutter);
    const top = gutter + Math.floor(n / cols) * (tileH + gutter);
    for (let y = 0; y < img.height * scale; y++) {
      for (let x = 0; x < img.width * scale; x++) {
        const src = (Math.floor(y / scale) * img.width + Math.floor(x / scale)) * 3;
        const dst = ((top + y) * width + left + x) * 3;
        data[dst] = img.data[src]!;
        data[dst + 1] = img.data[src + 1]!;
        data[dst + 2] = img.data[src + 2]!;
      }
    }
  });
  return { width, height, data };
}
