/**
 * `pnpm bench:inference`: the real inference service under load, with dynamic batching on and
 * off in the same run. Two services are started (EASEL_BATCHING=1 and 0; cold start to READY is
 * timed for each), then closed-loop clients run at concurrency 1, 4 and 8: each client PUTs with
 * `Prefer: wait` and sends its next request as soon as one finishes. Only one service is loaded at a
 * time, and the two alternate for BENCH_REPS repetitions of every level, so that a change in the
 * machine's background load hits both alike; figures are medians over the repetitions. Peak RSS is
 * each service process's VmHWM at the end.
 *
 * Environment: BENCH_MODEL_DIR (default: the Shapes model when built, else the tiny fixture),
 * BENCH_STEPS (default: the model's serving default; 20 for the fixture), BENCH_REQUESTS (requests
 * per level and repetition, default 32), BENCH_REPS (default 3), plus any EASEL_* variable, passed
 * to both services (EASEL_THREADS, default the CPU count; EASEL_MAX_BATCH; EASEL_BATCH_WAIT_MS...).
 */
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import type { Prediction } from "@easel/schema";
import { type RunningService, signedFetch, startService } from "../src/testing/harness.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const SHAPES_DIR = resolve(REPO_ROOT, "packages/shapes/artifacts/model");
const FIXTURE_DIR = resolve(REPO_ROOT, "packages/pipeline/fixtures/tiny-sd");
const CONCURRENCY = [1, 4, 8] as const;

interface Run {
  imagesPerS: number;
  latencies: number[];
  batches: number;
  batchedImages: number;
}

interface Instance {
  batching: boolean;
  service: RunningService;
  coldStartMs: number;
}

function pickModel(): { name: string; dir: string; steps: number | undefined } {
  const dir = process.env["BENCH_MODEL_DIR"]
    ? resolve(process.env["BENCH_MODEL_DIR"])
    : existsSync(resolve(SHAPES_DIR, "model_index.json"))
      ? SHAPES_DIR
      : FIXTURE_DIR;
  const name = dir === SHAPES_DIR ? "easel-shapes" : dir === FIXTURE_DIR ? "tiny-sd" : "bench";
  const steps = process.env["BENCH_STEPS"]
    ? Number(process.env["BENCH_STEPS"])
    : dir === FIXTURE_DIR
      ? 20
      : undefined;
  return { name, dir, steps };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return (
    sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
  );
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

async function batchCounters(service: RunningService): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { sum: read("easel_batch_size_sum"), count: read("easel_batch_size_count") };
}

let nextId = 0;
async function predict(service: RunningService, input: Record<string, unknown>): Promise<number> {
  const id = `bench-${process.pid}-${nextId++}`;
  const started = performance.now();
  const response = await signedFetch(
    service.url,
    "PUT",
    `/v1/predictions/${id}`,
    { input: { ...input, seed: nextId } },
    { headers: { prefer: "wait=300" } },
  );
  const prediction = (await response.json()) as Prediction;
  if (response.status !== 200 || prediction.status !== "succeeded") {
    throw new Error(`prediction ${id}: HTTP ${response.status}, ${JSON.stringify(prediction)}`);
  }
  return performance.now() - started;
}

async function runLoad(
  service: RunningService,
  concurrency: number,
  requests: number,
  input: Record<string, unknown>,
): Promise<Run> {
  const rounds = Math.max(2, Math.ceil(requests / concurrency));
  const before = await batchCounters(service);
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < rounds; i++) latencies.push(await predict(service, input));
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const after = await batchCounters(service);
  return {
    imagesPerS: latencies.length / wallS,
    latencies,
    batches: after.count - before.count,
    batchedImages: after.sum - before.sum,
  };
}

async function startInstance(
  batching: boolean,
  model: ReturnType<typeof pickModel>,
  threads: string,
): Promise<Instance> {
  const passThrough = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith("EASEL_") && entry[1] !== undefined,
    ),
  );
  const spawnedAt = performance.now();
  const service = await startService({
    EASEL_MODELS: `${model.name}=${model.dir}`,
    ...passThrough,
    // The harness pins one thread for tests; the benchmark lets onnxruntime use the machine.
    EASEL_THREADS: threads,
    EASEL_BATCHING: batching ? "1" : "0",
  });
  return { batching, service, coldStartMs: performance.now() - spawnedAt };
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const model = pickModel();
  const requests = Number(process.env["BENCH_REQUESTS"] ?? 32);
  const reps = Number(process.env["BENCH_REPS"] ?? 3);
  const threads = process.env["EASEL_THREADS"] ?? String(cpus().length);
  const settings = [
    `EASEL_THREADS=${threads}`,
    `EASEL_MAX_BATCH=${process.env["EASEL_MAX_BATCH"] ?? "8 (default)"}`,
    `EASEL_BATCH_WAIT_MS=${process.env["EASEL_BATCH_WAIT_MS"] ?? "20 (default)"}`,
  ].join(", ");
  console.error(
    `model ${model.name} (${model.dir}); ${settings}; ${requests} requests x ${reps} reps per level`,
  );

  const instances: Instance[] = [];
  try {
    for (const batching of [true, false])
      instances.push(await startInstance(batching, model, threads));
    const input = { prompt: "a big red circle", ...(model.steps ? { steps: model.steps } : {}) };
    // First-request costs (JIT, allocator growth) are not load figures.
    for (const { service } of instances) await runLoad(service, 8, 8, input);

    const runs = new Map<string, Run[]>();
    for (const concurrency of CONCURRENCY) {
      for (let rep = 0; rep < reps; rep++) {
        // Alternate which setting goes first, so neither always follows the other.
        const order = rep % 2 === 0 ? instances : [...instances].reverse();
        for (const { batching, service } of order) {
          const run = await runLoad(service, concurrency, requests, input);
          const key = `${batching}|${concurrency}`;
          runs.set(key, [...(runs.get(key) ?? []), run]);
          console.error(
            `batching ${batching ? "on " : "off"} c=${concurrency} rep ${rep + 1}: ${run.imagesPerS.toFixed(2)} images/s, mean batch ${(run.batchedImages / Math.max(1, run.batches)).toFixed(2)}`,
          );
        }
      }
    }

    const lines = [
      `Model: ${model.name}${model.steps ? `, ${model.steps} steps` : ", its default steps"}, default size. ${settings}. ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}, 1-minute load average ${loadBefore.toFixed(1)} at the start. ${requests} requests per level, median of ${reps} alternating repetitions.`,
      "",
      "| batching | concurrency | images/s (median) | images/s (min-max) | p50 latency (ms) | p95 latency (ms) | mean batch |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ];
    const medianAt = new Map<string, number>();
    for (const { batching } of instances) {
      for (const concurrency of CONCURRENCY) {
        const key = `${batching}|${concurrency}`;
        const list = runs.get(key) ?? [];
        const rates = list.map((r) => r.imagesPerS);
        const latencies = list.flatMap((r) => r.latencies);
        const batchedImages = list.reduce((s, r) => s + r.batchedImages, 0);
        const batches = list.reduce((s, r) => s + r.batches, 0);
        medianAt.set(key, median(rates));
        lines.push(
          `| ${batching ? "on" : "off"} | ${concurrency} | ${median(rates).toFixed(2)} | ${Math.min(...rates).toFixed(2)}-${Math.max(...rates).toFixed(2)} | ${percentile(latencies, 0.5).toFixed(0)} | ${percentile(latencies, 0.95).toFixed(0)} | ${(batchedImages / Math.max(1, batches)).toFixed(2)} |`,
        );
      }
    }
    lines.push(
      "",
      "| batching | cold start to READY (ms) | peak RSS, VmHWM (MiB) |",
      "| --- | ---: | ---: |",
    );
    for (const { batching, coldStartMs, service } of instances) {
      lines.push(
        `| ${batching ? "on" : "off"} | ${coldStartMs.toFixed(0)} | ${peakRssMb(service.process.pid ?? 0).toFixed(0)} |`,
      );
    }
    const ratio = (concurrency: number) =>
      (medianAt.get(`true|${concurrency}`) ?? Number.NaN) /
      (medianAt.get(`false|${concurrency}`) ?? Number.NaN);
    lines.push(
      "",
      `Throughput, batching on / off: ${CONCURRENCY.map((c) => `c=${c} ${ratio(c).toFixed(2)}x`).join(", ")}; at concurrency 8: **${ratio(8).toFixed(2)}x**`,
    );
    console.log(lines.join("\n"));
  } finally {
    await Promise.all(instances.map(({ service }) => service.stop()));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
