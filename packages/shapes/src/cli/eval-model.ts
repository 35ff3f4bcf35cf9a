/**
 * `pnpm --silent eval:model [--prompts file.jsonl] [--seeds K] [--steps N] [--scheduler NAME] [--out results.jsonl]`
 *
 * Generates every prompt with the TypeScript pipeline (fixed seeds 0..K-1) and judges each image
 * with the geometric evaluator. Prints a table, then, as its last line, one JSON object with the
 * accuracies (overall, per attribute, seen and held-out). This interface is how the model is
 * judged: keep it exactly.
 */
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type GenerateRequest, loadPipeline, readServingDefaults } from "@easel/pipeline";
import { evalPromptSet } from "../dataset/eval-set.ts";
import { ShapesError } from "../errors.ts";
import { evaluate, type VerdictAttributes } from "../evaluate/evaluate.ts";
import { parsePrompt } from "../grammar/parse.ts";
import { isHeldOut } from "../spec.ts";
import { integerFlag } from "./args.ts";

const DEFAULT_MODEL = resolve(import.meta.dirname, "../../artifacts/model");
const ATTRIBUTES = ["colour", "shape", "count", "size", "position", "relation"] as const;
type Attribute = (typeof ATTRIBUTES)[number];

interface PromptRow {
  prompt: string;
  fields: Record<string, unknown>;
}

interface ImageResult {
  heldOut: boolean;
  correct: boolean;
  attributes: Partial<Record<Attribute, boolean | null>>;
}

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const seeds = integerFlag("seeds", flags.get("seeds"), 1, 1, 100);
  const steps = integerFlag("steps", flags.get("steps"), 20, 1, 150);
  const batchSize = integerFlag("batch", flags.get("batch"), 8, 1, 64);
  const guidance = Number(flags.get("guidance") ?? Number.NaN);
  const modelDir = resolve(flags.get("model") ?? DEFAULT_MODEL);
  const rows = flags.has("prompts") ? await readPrompts(flags.get("prompts")!) : builtInPrompts();

  const threads = flags.has("threads")
    ? integerFlag("threads", flags.get("threads"), undefined, 1, 64)
    : undefined;
  const pipe = await loadPipeline(
    modelDir,
    threads === undefined ? {} : { intraOpThreads: threads },
  );
  const defaults = readServingDefaults(modelDir);
  const scheduler =
    flags.get("scheduler") ?? defaults.default_scheduler ?? pipe.info.defaultScheduler;
  const guidanceScale = Number.isFinite(guidance)
    ? guidance
    : (defaults.default_guidance_scale ?? 7.5);
  const size = pipe.info.sampleSize;

  const jobs = rows.flatMap((row) => Array.from({ length: seeds }, (_, seed) => ({ row, seed })));
  const results: ImageResult[] = [];
  const lines: string[] = [];
  const started = performance.now();
  for (let i = 0; i < jobs.length; i += batchSize) {
    const batch = jobs.slice(i, i + batchSize);
    const requests: GenerateRequest[] = batch.map(({ row, seed }) => ({
      prompt: row.prompt,
      seed,
      steps,
      scheduler,
      guidanceScale,
      width: size,
      height: size,
    }));
    const outputs = await pipe.generateBatch(requests);
    batch.forEach(({ row, seed }, j) => {
      const image = outputs[j]?.images[0];
      const result = judge(row, image);
      results.push(result);
      lines.push(
        JSON.stringify({
          ...row.fields,
          prompt: row.prompt,
          seed,
          held_out: result.heldOut,
          ...result.attributes,
          correct: result.correct,
        }),
      );
    });
    process.stderr.write(`\r${Math.min(i + batchSize, jobs.length)}/${jobs.length} images`);
  }
  const msPerImage = (performance.now() - started) / Math.max(1, jobs.length);
  process.stderr.write("\n");
  await pipe.release();
  if (flags.has("out")) await writeFile(flags.get("out")!, `${lines.join("\n")}\n`);

  const summary = summarize(results);
  printTable(summary);
  process.stdout.write(
    `${JSON.stringify({
      ...summary,
      images: results.length,
      prompts: rows.length,
      seeds,
      steps,
      scheduler,
      guidance_scale: guidanceScale,
      model: modelDir,
      ms_per_image: Math.round(msPerImage * 10) / 10,
    })}\n`,
  );
}

function judge(
  row: PromptRow,
  image: { width: number; height: number; data: Uint8Array } | undefined,
): ImageResult {
  let spec: ReturnType<typeof parsePrompt>;
  try {
    spec = parsePrompt(row.prompt);
  } catch {
    return { heldOut: row.fields["held_out"] === true, correct: false, attributes: {} };
  }
  const heldOut =
    typeof row.fields["held_out"] === "boolean"
      ? (row.fields["held_out"] as boolean)
      : isHeldOut(spec);
  if (!image) return { heldOut, correct: false, attributes: {} };
  const verdict = evaluate(image, spec);
  return {
    heldOut,
    correct: verdict.correct,
    attributes: { ...(verdict.attributes as VerdictAttributes) },
  };
}

type Summary = ReturnType<typeof summarize>;

function summarize(results: ImageResult[]) {
  const accuracy = (subset: ImageResult[]) =>
    subset.length === 0 ? null : round(subset.filter((r) => r.correct).length / subset.length);
  const perAttribute = (subset: ImageResult[]) =>
    Object.fromEntries(
      ATTRIBUTES.map((a) => {
        const judged = subset.filter((r) => typeof r.attributes[a] === "boolean");
        return [
          a,
          judged.length === 0
            ? null
            : round(judged.filter((r) => r.attributes[a]).length / judged.length),
        ];
      }),
    ) as Record<Attribute, number | null>;
  const seen = results.filter((r) => !r.heldOut);
  const heldOut = results.filter((r) => r.heldOut);
  return {
    overall: accuracy(results),
    seen: accuracy(seen),
    held_out: accuracy(heldOut),
    attributes: perAttribute(results),
    seen_attributes: perAttribute(seen),
    held_out_attributes: perAttribute(heldOut),
    counts: { seen: seen.length, held_out: heldOut.length },
  };
}

function printTable(s: Summary): void {
  const pct = (v: number | null) =>
    v === null ? "   -  " : `${(v * 100).toFixed(1).padStart(5)}%`;
  const out = [
    "| subset   | images | whole prompt | colour | shape  | count  | size   | position | relation |",
    "|----------|-------:|-------------:|-------:|-------:|-------:|-------:|---------:|---------:|",
  ];
  const row = (
    name: string,
    n: number,
    whole: number | null,
    attrs: Record<Attribute, number | null>,
  ) =>
    `| ${name.padEnd(8)} | ${String(n).padStart(6)} | ${pct(whole).padStart(12)} | ${pct(attrs.colour)} | ${pct(attrs.shape)} | ${pct(attrs.count)} | ${pct(attrs.size)} | ${pct(attrs.position).padStart(8)} | ${pct(attrs.relation).padStart(8)} |`;
  out.push(row("seen", s.counts.seen, s.seen, s.seen_attributes));
  out.push(row("held-out", s.counts.held_out, s.held_out, s.held_out_attributes));
  out.push(row("all", s.counts.seen + s.counts.held_out, s.overall, s.attributes));
  process.stdout.write(`${out.join("\n")}\n`);
}

const round = (v: number) => Math.round(v * 10_000) / 10_000;

function builtInPrompts(): PromptRow[] {
  return evalPromptSet().map((p) => ({
    prompt: p.prompt,
    fields: { held_out: p.heldOut, form: p.form, variant: p.variant },
  }));
}

async function readPrompts(file: string): Promise<PromptRow[]> {
  const text = await readFile(file, "utf8");
  return text
    .split("\n")
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line.length > 0)
    .map(([line, n]) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new ShapesError(`${file}:${n}: not valid JSON`);
      }
      const prompt = (value as { prompt?: unknown })?.prompt;
      if (typeof prompt !== "string")
        throw new ShapesError(`${file}:${n}: needs a "prompt" string field`);
      const { prompt: _, ...fields } = value as Record<string, unknown>;
      return { prompt, fields };
    });
}

const VALUE_FLAGS = new Set([
  "prompts",
  "seeds",
  "steps",
  "scheduler",
  "out",
  "model",
  "batch",
  "guidance",
  "threads",
]);

function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]?.replace(/^--/, "") ?? "";
    if (!argv[i]?.startsWith("--") || !VALUE_FLAGS.has(name)) {
      throw new ShapesError(
        `unknown argument ${argv[i]}; usage: eval:model [--prompts file.jsonl] [--seeds K] [--steps N] [--scheduler NAME] [--out results.jsonl]`,
      );
    }
    const value = argv[i + 1];
    if (value === undefined) throw new ShapesError(`--${name} needs a value`);
    flags.set(name, value);
    i++;
  }
  return flags;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`eval:model: ${(error as Error).message}\n`);
  process.exit(error instanceof ShapesError ? 2 : 1);
});
