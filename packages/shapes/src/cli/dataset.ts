/**
 * Writes a training/held-out dataset for the training recipe.
 *
 *   pnpm --filter @easel/shapes exec tsx src/cli/dataset.ts --count N --seed S --split train|heldout --out DIR
 *     [--paraphrase-rate 0.5]
 *
 * Output: DIR/images.u8 (N*64*64*3 uint8 RGB, HWC), DIR/captions.jsonl, DIR/meta.json.
 */
import { parseArgs } from "node:util";
import { SPLITS, type Split } from "../dataset/sample.ts";
import { writeDataset } from "../dataset/write.ts";
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
      "paraphrase-rate": { type: "string" },
    },
  });
  const count = integerFlag("count", values.count, undefined, 0);
  const seed = integerFlag("seed", values.seed, undefined, 0);
  const split = values.split as Split | undefined;
  if (split === undefined || !SPLITS.includes(split)) {
    throw new ShapesError(`--split must be one of ${SPLITS.join(", ")}, got ${values.split}`);
  }
  if (values.out === undefined) throw new ShapesError("--out is required");
  const paraphraseRate =
    values["paraphrase-rate"] === undefined ? 0.5 : Number(values["paraphrase-rate"]);
  const result = writeDataset({ count, seed, split, out: values.out, paraphraseRate });
  process.stderr.write(
    `wrote ${result.count} ${split} images to ${values.out} in ${result.seconds.toFixed(2)} s (${Math.round(result.imagesPerSecond)} images/s)\n`,
  );
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`dataset: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
