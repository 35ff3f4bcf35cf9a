/**
 * `pnpm bench:pipeline`: per-stage timings of the pipeline and its own overhead (total minus the
 * time inside onnxruntime's `run`), on the fixture model and on the embedded Shapes model when its
 * artifacts exist. Prints a markdown table.
 *
 * Options: --steps N (default 20), --runs N (default 5, after one warm-up), --threads N,
 * --model DIR (repeatable, replaces the default models).
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { encodeResultImages } from "../src/pipelines/output.ts";
import { loadPipeline } from "../src/pipelines/stable-diffusion.ts";
import type { StageTimings } from "../src/pipelines/types.ts";

const PACKAGE = resolve(import.meta.dirname, "..");
const REPO = resolve(PACKAGE, "../..");

const { values } = parseArgs({
  // `pnpm bench:pipeline -- --runs 5` passes the "--" through.
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    steps: { type: "string", default: "20" },
    runs: { type: "string", default: "5" },
    threads: { type: "string" },
    model: { type: "string", multiple: true },
  },
});
const steps = Number(values.steps);
const runs = Number(values.runs);
if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(runs) || runs < 1) {
  throw new Error(
    `--steps and --runs must be positive integers, got ${values.steps} and ${values.runs}`,
  );
}
const threads = values.threads === undefined ? undefined : Number(values.threads);

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

interface Row {
  model: string;
  size: string;
  timings: StageTimings[];
}

async function bench(dir: string): Promise<Row> {
  const pipe = await loadPipeline(dir, threads === undefined ? {} : { intraOpThreads: threads });
  try {
    const request = { prompt: "a red circle above a blue square", steps, seed: 1234 };
    await pipe.generate({ ...request, steps: Math.min(steps, 3) });
    const timings: StageTimings[] = [];
    for (let i = 0; i < runs; i++) {
      const result = await pipe.generate({ ...request, seed: 1234 + i });
      encodeResultImages(result, { format: "png" });
      timings.push(result.timings);
    }
    return {
      model: pipe.info.name,
      size: `${pipe.info.sampleSize}x${pipe.info.sampleSize}`,
      timings,
    };
  } finally {
    await pipe.release();
  }
}

const models = values.model ?? [
  join(PACKAGE, "fixtures", "tiny-sd"),
  join(REPO, "packages", "shapes", "artifacts", "model"),
];
const rows: Row[] = [];
const notes: string[] = [];
for (const dir of models) {
  if (!existsSync(dir)) {
    notes.push(`skipped ${relative(REPO, dir)}: not present (build it first)`);
    continue;
  }
  process.stderr.write(`benchmarking ${relative(REPO, dir)} ...\n`);
  rows.push(await bench(dir));
}

const header = [
  "model",
  "size",
  "total",
  "tokenize",
  "text encoder",
  "UNet call mean / p50 / p95",
  "UNet total",
  "scheduler",
  "VAE decode",
  "PNG encode",
  "onnxruntime",
  "overhead (total - onnx)",
  "overhead / step",
];
const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
for (const row of rows) {
  const t = row.timings;
  const calls = t.flatMap((x) => x.unetCallsMs).sort((a, b) => a - b);
  const total = mean(t.map((x) => x.totalMs));
  const onnx = mean(t.map((x) => x.onnxMs));
  const overhead = total - onnx;
  lines.push(
    `| ${[
      row.model,
      row.size,
      ms(total),
      ms(mean(t.map((x) => x.tokenizeMs))),
      ms(mean(t.map((x) => x.textEncoderMs))),
      `${ms(mean(calls))} / ${ms(quantile(calls, 0.5))} / ${ms(quantile(calls, 0.95))}`,
      ms(mean(t.map((x) => x.unetMs))),
      ms(mean(t.map((x) => x.schedulerMs))),
      ms(mean(t.map((x) => x.vaeDecodeMs))),
      ms(mean(t.map((x) => x.encodeMs ?? 0))),
      ms(onnx),
      `${ms(overhead)} (${((overhead / total) * 100).toFixed(1)}%)`,
      ms(overhead / t[0]!.unetCallsMs.length),
    ].join(" | ")} |`,
  );
}

console.log(
  `Pipeline benchmark: ${steps} steps (the model's default scheduler), mean of ${runs} runs after a ` +
    `warm-up, times in ms, ${threads === undefined ? "onnxruntime's default threads" : `${threads} intra-op threads`}, ` +
    `node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs.\n`,
);
console.log(lines.join("\n"));
if (notes.length > 0) console.log(`\n${notes.map((n) => `- ${n}`).join("\n")}`);
