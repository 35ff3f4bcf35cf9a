/**
 * `pnpm bench:inference`: the real inference service under load, with dynamic batching on and
 * off in the same run. For each setting it starts a fresh service (cold start to READY), then runs
 * closed-loop clients at concurrency 1, 4 and 8 (each PUTs with `Prefer: wait` and sends the next
 * request as soon as one finishes) and reads the service's peak RSS (VmHWM) at the end.
 *
 * Environment: BENCH_MODEL_DIR (default: the Shapes model when built, else the tiny fixture),
 * BENCH_STEPS (default: the model's serving default, 20 for the fixture), BENCH_REQUESTS (requests
 * per concurrency level, default 32, at least 2 per client), plus any EASEL_* variable, passed
 * through to both services (EASEL_THREADS, default the CPU count; EASEL_MAX_BATCH;
 * EASEL_BATCH_WAIT_MS...).
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

interface LevelResult {
  batching: boolean;
  concurrency: number;
  images: number;
  imagesPerS: number;
  p50Ms: number;
  p95Ms: number;
  meanBatch: number;
}

interface InstanceResult {
  batching: boolean;
  coldStartMs: number;
  peakRssMb: number;
  levels: LevelResult[];
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

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
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

async function runLevel(
  service: RunningService,
  batching: boolean,
  concurrency: number,
  requests: number,
  input: Record<string, unknown>,
): Promise<LevelResult> {
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
  latencies.sort((a, b) => a - b);
  return {
    batching,
    concurrency,
    images: latencies.length,
    imagesPerS: latencies.length / wallS,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    meanBatch: (after.sum - before.sum) / Math.max(1, after.count - before.count),
  };
}

async function runInstance(
  batching: boolean,
  model: ReturnType<typeof pickModel>,
  requests: number,
): Promise<InstanceResult> {
  const passThrough = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith("EASEL_") && entry[1] !== undefined,
    ),
  );
  const spawnedAt = performance.now();
  const service = await startService({
    EASEL_MODELS: `${model.name}=${model.dir}`,
    // The harness pins one thread for tests; the benchmark lets onnxruntime use the machine.
    EASEL_THREADS: String(cpus().length),
    ...passThrough,
    EASEL_BATCHING: batching ? "1" : "0",
  });
  const coldStartMs = performance.now() - spawnedAt;
  try {
    const input = { prompt: "a big red circle", ...(model.steps ? { steps: model.steps } : {}) };
    await predict(service, input); // first-request costs (JIT, allocator) are not load figures
    const levels: LevelResult[] = [];
    for (const concurrency of CONCURRENCY) {
      levels.push(await runLevel(service, batching, concurrency, requests, input));
      const last = levels.at(-1)!;
      console.error(
        `batching ${batching ? "on" : "off"}, concurrency ${concurrency}: ${last.imagesPerS.toFixed(2)} images/s`,
      );
    }
    return { batching, coldStartMs, peakRssMb: peakRssMb(service.process.pid ?? 0), levels };
  } finally {
    await service.stop();
  }
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const model = pickModel();
  const requests = Number(process.env["BENCH_REQUESTS"] ?? 32);
  const threads = process.env["EASEL_THREADS"] ?? String(cpus().length);
  const settings = ["EASEL_THREADS", "EASEL_MAX_BATCH", "EASEL_BATCH_WAIT_MS"]
    .map((name) => `${name}=${process.env[name] ?? (name === "EASEL_THREADS" ? threads : "default")}`)
    .join(", ");
  console.error(`model ${model.name} (${model.dir}); ${settings}; ${requests} requests per level`);
  const instances: InstanceResult[] = [];
  for (const batching of [true, false]) instances.push(await runInstance(batching, model, requests));

  const lines = [
    `Model: ${model.name}${model.steps ? `, ${model.steps} steps` : ", default steps"}, default size; ${settings}; ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}); Node ${process.version}; 1-minute load average before the run ${loadBefore.toFixed(1)}.`,
    "",
    "| batching | concurrency | images | images/s | p50 latency (ms) | p95 latency (ms) | mean batch |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const instance of instances) {
    for (const l of instance.levels) {
      lines.push(
        `| ${l.batching ? "on" : "off"} | ${l.concurrency} | ${l.images} | ${l.imagesPerS.toFixed(2)} | ${l.p50Ms.toFixed(0)} | ${l.p95Ms.toFixed(0)} | ${l.meanBatch.toFixed(2)} |`,
      );
    }
  }
  lines.push("", "| batching | cold start to READY (ms) | peak RSS, VmHWM (MiB) |", "| --- | ---: | ---: |");
  for (const instance of instances) {
    lines.push(
      `| ${instance.batching ? "on" : "off"} | ${instance.coldStartMs.toFixed(0)} | ${instance.peakRssMb.toFixed(0)} |`,
    );
  }
  const at8 = (batching: boolean) =>
    instances.find((i) => i.batching === batching)?.levels.find((l) => l.concurrency === 8);
  const ratio = (at8(true)?.imagesPerS ?? Number.NaN) / (at8(false)?.imagesPerS ?? Number.NaN);
  lines.push("", `Throughput with batching on / off at concurrency 8: **${ratio.toFixed(2)}x**`);
  console.log(lines.join("\n"));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
