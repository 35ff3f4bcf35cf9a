import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { IMAGE_SIZE, PALETTE } from "../world.ts";
import { type DatasetOptions, generateDataset } from "./generate.ts";

/** Options of `writeDataset`. */
export interface WriteDatasetOptions extends DatasetOptions {
  /** Output directory; created when missing. */
  out: string;
}

/** What `writeDataset` wrote, with its speed. */
export interface WriteDatasetResult {
  count: number;
  seconds: number;
  imagesPerSecond: number;
}

/** Images buffered per write: 256 x 12 KiB keeps writes large without holding the whole set. */
const BATCH = 256;

/**
 * Writes a dataset in the training format: `images.u8` (count x 64 x 64 x 3 raw uint8 RGB,
 * row-major HWC), `captions.jsonl` (`{"caption", "spec", "layout"}` per line, same order; `layout` is
 * the background RGB and every drawn object: colour, shape, size, box side `extent`, centre `cx, cy`
 * in pixels and its palette `rgb`)
 * and `meta.json` (`{count, seed, split, width: 64, height: 64}`).
 *
 * @example
 * writeDataset({ count: 50_000, seed: 1, split: "train", out: "data/train" });
 */
export function writeDataset(options: WriteDatasetOptions): WriteDatasetResult {
  const { out, ...datasetOptions } = options;
  mkdirSync(out, { recursive: true });
  const imageBytes = IMAGE_SIZE * IMAGE_SIZE * 3;
  const images = openSync(join(out, "images.u8"), "w");
  const captions = openSync(join(out, "captions.jsonl"), "w");
  const started = performance.now();
  let written = 0;
  try {
    const buffer = new Uint8Array(BATCH * imageBytes);
    let lines: string[] = [];
    let inBuffer = 0;
    const flush = () => {
      writeSync(images, buffer, 0, inBuffer * imageBytes);
      writeSync(captions, lines.join(""));
      inBuffer = 0;
      lines = [];
    };
    for (const item of generateDataset(datasetOptions)) {
      buffer.set(item.image.data, inBuffer * imageBytes);
      const { caption, spec, layout } = item;
      const objects = layout.objects.map((o) => ({ ...o, rgb: PALETTE[o.colour] }));
      lines.push(
        `${JSON.stringify({ caption, spec, layout: { background: layout.background, objects } })}\n`,
      );
      inBuffer++;
      written++;
      if (inBuffer === BATCH) flush();
    }
    flush();
  } finally {
    closeSync(images);
    closeSync(captions);
  }
  const meta = {
    count: written,
    seed: options.seed,
    split: options.split,
    width: IMAGE_SIZE,
    height: IMAGE_SIZE,
  };
  writeFileSync(join(out, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
  const seconds = (performance.now() - started) / 1000;
  return { count: written, seconds, imagesPerSecond: written / Math.max(seconds, 1e-9) };
}
