/**
 * Writes a PNG grid of dataset samples and a sidecar .txt with their captions, for humans to look at.
 *
 *   pnpm --filter @easel/shapes exec tsx src/cli/contact-sheet.ts --out sheet.png
 *     [--count 64] [--seed 0] [--split train|heldout|all] [--columns 8] [--scale 2]
 *
 * The sidecar (sheet.txt) lists "index  row,col  caption", row-major like the grid.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { encodeImage } from "@easel/pipeline";
import { contactSheet } from "../contact-sheet.ts";
import { generateDataset } from "../dataset/generate.ts";
import { SPLITS, type Split } from "../dataset/sample.ts";
import { ShapesError } from "../errors.ts";
import { integerFlag } from "./args.ts";

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: "string" },
      seed: { type: "string" },
      split: { type: "string" },
      out: { type: "string" },
      columns: { type: "string" },
      scale: { type: "string" },
    },
  });
  const count = integerFlag("count", values.count, 64, 1, 4096);
  const seed = integerFlag("seed", values.seed, 0, 0);
  const columns = integerFlag("columns", values.columns, 8, 1, 64);
  const scale = integerFlag("scale", values.scale, 2, 1, 8);
  const split = (values.split ?? "train") as Split;
  if (!SPLITS.includes(split)) {
    throw new ShapesError(`--split must be one of ${SPLITS.join(", ")}, got ${values.split}`);
  }
  if (values.out === undefined) throw new ShapesError("--out is required");
  const items = [...generateDataset({ count, seed, split })];
  const sheet = contactSheet(
    items.map((item) => item.image),
    { columns, scale },
  );
  const png = encodeImage(sheet, "png", {
    text: { Description: `Easel Shapes ${split} seed ${seed}` },
  });
  writeFileSync(values.out, png);
  const lines = items.map(
    (item, n) => `${n}\t${Math.floor(n / columns)},${n % columns}\t${item.caption}`,
  );
  const sidecar = values.out.replace(/\.png$/i, "") + ".txt";
  writeFileSync(sidecar, `${lines.join("\n")}\n`);
  process.stderr.write(`wrote ${values.out} (${sheet.width}x${sheet.height}) and ${sidecar}\n`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`contact-sheet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
