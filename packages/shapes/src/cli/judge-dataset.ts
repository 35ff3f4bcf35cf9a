/**
 * Judges the images of a dataset folder against their captions with the evaluator.
 *
 *   pnpm --filter @easel/shapes exec tsx src/cli/judge-dataset.ts --dir DIR [--images FILE]
 *
 * DIR is what the dataset CLI writes (captions.jsonl, images.u8); `--images` names another file
 * of the same layout in DIR, e.g. the same scenes after an autoencoder round trip
 * (train/check_decoder.py), to measure how much of the picture a decoder keeps. Prints one line
 * per form and, as the last line, one JSON object: `{"images", "correct", "accuracy", "forms"}`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ShapesError } from "../errors.ts";
import { evaluate } from "../evaluate/evaluate.ts";
import { parsePrompt } from "../grammar/parse.ts";
import type { SceneForm } from "../spec.ts";
import { IMAGE_SIZE } from "../world.ts";

const IMAGE_BYTES = IMAGE_SIZE * IMAGE_SIZE * 3;

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: { dir: { type: "string" }, images: { type: "string", default: "images.u8" } },
  });
  if (values.dir === undefined) throw new ShapesError("--dir is required");
  const captions = readFileSync(join(values.dir, "captions.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => (JSON.parse(line) as { caption: string }).caption);
  const bytes = readFileSync(join(values.dir, values.images));
  if (bytes.length !== captions.length * IMAGE_BYTES) {
    throw new ShapesError(
      `--images ${values.images}: ${bytes.length} bytes, expected ${captions.length} x ${IMAGE_BYTES} for the captions of ${values.dir}`,
    );
  }
  const forms = new Map<SceneForm, { images: number; correct: number }>();
  captions.forEach((caption, i) => {
    const data = new Uint8Array(bytes.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES));
    const spec = parsePrompt(caption);
    const verdict = evaluate({ width: IMAGE_SIZE, height: IMAGE_SIZE, data }, spec);
    const tally = forms.get(spec.form) ?? { images: 0, correct: 0 };
    tally.images++;
    if (verdict.correct) tally.correct++;
    forms.set(spec.form, tally);
  });
  const correct = [...forms.values()].reduce((sum, t) => sum + t.correct, 0);
  for (const [form, t] of forms) {
    console.log(
      `${form.padEnd(8)} ${t.correct}/${t.images} (${((100 * t.correct) / t.images).toFixed(1)}%)`,
    );
  }
  console.log(
    JSON.stringify({
      images: captions.length,
      correct,
      accuracy: Math.round((correct / Math.max(1, captions.length)) * 10_000) / 10_000,
      forms: Object.fromEntries(forms),
    }),
  );
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`judge-dataset: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
