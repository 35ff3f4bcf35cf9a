import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePng, InvalidParameterError, type RgbImage } from "@easel/pipeline";
import { EaselError, type Prediction } from "@easel/schema";
import { FsObjectStore } from "@easel/storage";
import { afterEach, describe, expect, it } from "vitest";
import { configFromEnv, type InferenceConfig } from "./config.ts";
import { EventHub } from "./events.ts";
import type { BatchOptions, GenerateRequest, ImageGenerator } from "./generator.ts";
import { Journal, type PredictionRecord } from "./journal.ts";
import { silentLogger } from "./logger.ts";
import { createMetrics } from "./metrics.ts";
import { ModelRegistry } from "./models.ts";
import { PredictionService } from "./service.ts";

/** A stand-in for the pipeline: solid images whose red channel encodes the seed, steps of `stepMs`. */
class FakeGenerator implements ImageGenerator {
  readonly info = {
    name: "fake",
    defaultWidth: 8,
    defaultHeight: 8,
    defaultSteps: 3,
    defaultGuidance: 5,
    defaultScheduler: "ddim",
    sizeMultiple: 4,
    supportsImageToImage: false,
  };
  batches: number[] = [];
  stepsRun = 0;
  /** While set, a batch waits for it before its first step (lets a test queue work behind it). */
  gate: Promise<void> | undefined;
  constructor(private readonly stepMs = 5) {}
  validate(request: GenerateRequest): void {
    if (request.width % 4 !== 0) {
      throw new InvalidParameterError("width", "a multiple of 4", request.width);
    }
  }
  async generateBatch(requests: GenerateRequest[], { signal, onStep }: BatchOptions) {
    this.batches.push(requests.length);
    await this.gate;
    const total = requests[0]?.steps ?? 1;
    for (let step = 1; step <= total; step++) {
      await new Promise((r) => setTimeout(r, this.stepMs));
      if (signal.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
      this.stepsRun += 1;
      onStep(step, total, undefined);
    }
    return requests.map((r) => ({
      images: Array.from({ length: r.numImages }, () => solid(r.width, r.height, r.seed % 256)),
    }));
  }
  async dispose() {}
}

function solid(width: number, height: number, red: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data[i] = red;
  return { width, height, data };
}

async function setup(overrides: Partial<InferenceConfig> = {}, generator = new FakeGenerator()) {
  const dir = await mkdtemp(join(tmpdir(), "easel-service-"));
  const config = {
    ...configFromEnv({ EASEL_SHARED_SECRET: "x".repeat(16), EASEL_STATE_DIR: join(dir, "state") }),
    models: [{ name: "fake", dir }],
    defaultModel: "fake",
    batchWaitMs: 0,
    ...overrides,
  };
  const models = new ModelRegistry(config.models, async () => generator, 1e6);
  await models.loadAll();
  const events = new EventHub();
  let service: PredictionService | undefined;
  const metrics = createMetrics(
    () => service?.queueDepth ?? 0,
    () => service?.inFlight ?? 0,
  );
  const store = new FsObjectStore(join(dir, "images"));
  service = new PredictionService({
    config,
    journal: new Journal(config.stateDir),
    store,
    models,
    events,
    metrics,
    logger: silentLogger,
  });
  await service.start();
  services.push(service);
  return { service, store, events, config, generator, metrics, dir };
}

const services: PredictionService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.shutdown(0)));
});

const body = (prompt: string, extra: Record<string, unknown> = {}) => ({
  input: { prompt, ...extra },
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function finished(service: PredictionService, id: string): Promise<Prediction> {
  const p = await service.waitFor(id, 5000);
  if (!p) throw new Error(`no prediction ${id}`);
  return p;
}

describe("PredictionService", () => {
  it("runs a prediction to success and stores a PNG under the prediction's key", async () => {
    const { service, store } = await setup();
    await service.create("p1", body("a red circle", { seed: 7 }), "h1");
    const done = await finished(service, "p1");
    expect(done.status).toBe("succeeded");
    expect(done.seed).toBe(7);
    const image = done.output?.images[0];
    expect(image?.key).toBe("predictions/p1/0.png");
    const stored = await store.get(image?.key ?? "");
    const png = decodePng(stored?.body ?? new Uint8Array());
    expect(png.data[0]).toBe(7);
    expect(png.text["parameters"]).toContain("a red circle");
    expect(done.metrics.total_ms).toBeGreaterThanOrEqual(0);
  });

  it("returns the existing prediction for the same id and input, and 409s a different input", async () => {
    const { service } = await setup();
    const first = await service.create("p1", body("a"), "hash-a");
    const again = await service.create("p1", body("a"), "hash-a");
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.prediction.id).toBe("p1");
    await expect(service.create("p1", body("b"), "hash-b")).rejects.toMatchObject({
      code: "conflict",
      status: 409,
    });
  });

  it("refuses work beyond the queue's capacity with queue_full and a Retry-After", async () => {
    const { service } = await setup({ queueCapacity: 2, maxBatchSize: 1 }, new FakeGenerator(50));
    await service.create("a", body("a", { steps: 20 }), "a"); // taken by the worker
    await new Promise((r) => setTimeout(r, 20));
    await service.create("b", body("b"), "b");
    await service.create("c", body("c"), "c");
    const error = await service.create("d", body("d"), "d").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EaselError);
    expect((error as EaselError).code).toBe("queue_full");
    expect((error as EaselError).retryAfter).toBeGreaterThanOrEqual(1);
  });

  it("batches compatible queued predictions into one generator call", async () => {
    const generator = new FakeGenerator(5);
    let release = () => {};
    generator.gate = new Promise((r) => {
      release = r;
    });
    const { service } = await setup({ maxBatchSize: 4 }, generator);
    await service.create("first", body("x", { steps: 2 }), "1");
    while (service.get("first")?.status !== "processing")
      await new Promise((r) => setTimeout(r, 5));
    for (const id of ["b1", "b2", "b3"]) await service.create(id, body(id), id);
    generator.gate = undefined;
    release();
    await finished(service, "b3");
    expect(generator.batches).toEqual([1, 3]);
  });

  it("cancels a queued prediction without running it, and a running one between steps", async () => {
    const generator = new FakeGenerator(40);
    const { service } = await setup({ maxBatchSize: 1 }, generator);
    await service.create("running", body("x", { steps: 50 }), "1");
    await service.create("queued", body("y"), "2");
    await new Promise((r) => setTimeout(r, 100));
    expect((await service.cancel("queued")).status).toBe("canceled");
    await service.cancel("running");
    const running = await finished(service, "running");
    expect(running.status).toBe("canceled");
    expect(running.progress?.step ?? 0).toBeLessThan(50);
    expect(generator.batches).toEqual([1]);
  });

  it("cancels one member of a running batch at once and lets the others finish", async () => {
    const generator = new FakeGenerator(20);
    // A full batch is released at once; the long wait keeps it from starting before it is full.
    const { service } = await setup({ maxBatchSize: 3, batchWaitMs: 10_000 }, generator);
    for (const id of ["keep-1", "drop", "keep-2"]) {
      await service.create(id, body(id, { steps: 10 }), id);
    }
    await until(() => (service.get("drop")?.progress?.step ?? 0) >= 1);
    const canceled = await service.cancel("drop");
    expect(canceled.status).toBe("canceled");
    expect(canceled.progress?.step ?? 0).toBeLessThan(10);
    expect((await finished(service, "keep-1")).status).toBe("succeeded");
    expect((await finished(service, "keep-2")).status).toBe("succeeded");
    expect(service.get("drop")?.output).toBeNull();
    expect(generator.batches).toEqual([3]);
  });

  it("stops a batch between steps once all of its members are canceled", async () => {
    const generator = new FakeGenerator(20);
    const { service } = await setup({ maxBatchSize: 2, batchWaitMs: 10_000 }, generator);
    await service.create("a", body("a", { steps: 100 }), "a");
    await service.create("b", body("b", { steps: 100 }), "b");
    await until(() => (service.get("a")?.progress?.step ?? 0) >= 1);
    await service.cancel("a");
    const stepsWhenOneLeft = generator.stepsRun;
    await new Promise((r) => setTimeout(r, 60));
    expect(generator.stepsRun).toBeGreaterThan(stepsWhenOneLeft); // b still needs the batch
    await service.cancel("b");
    await until(() => service.inFlight === 0);
    const stepsAtStop = generator.stepsRun;
    await new Promise((r) => setTimeout(r, 60));
    expect(generator.stepsRun - stepsAtStop).toBeLessThanOrEqual(1);
    expect(generator.stepsRun).toBeLessThan(100);
  });

  it("fails a prediction whose deadline passes while it runs", async () => {
    const { service } = await setup({ deadlineMs: 150 }, new FakeGenerator(50));
    await service.create("slow", body("x", { steps: 40 }), "1");
    const done = await finished(service, "slow");
    expect(done.status).toBe("failed");
    expect(done.error?.code).toBe("deadline_exceeded");
  });

  it("publishes queued, started, progress per step and succeeded events in order", async () => {
    const { service, events } = await setup();
    await service.create("ev", body("x", { steps: 3 }), "1");
    await finished(service, "ev");
    const types = events.history("ev").map((e) => e.event.type);
    expect(types).toEqual(["queued", "started", "progress", "progress", "progress", "succeeded"]);
    expect(events.history("ev", 2).map((e) => e.id)).toEqual([3, 4, 5, 6]);
  });

  it("resumes journaled queued and processing work after a restart and fails work interrupted too often", async () => {
    const dir = await mkdtemp(join(tmpdir(), "easel-journal-"));
    const journal = new Journal(join(dir, "state"));
    await journal.open();
    const record = (
      id: string,
      status: "queued" | "processing",
      attempts: number,
    ): PredictionRecord => ({
      inputHash: id,
      attempts,
      deadlineAt: Date.now() + 60_000,
      prediction: {
        id,
        model: "fake",
        status,
        input: { prompt: id },
        seed: 1,
        output: null,
        error: null,
        created_at: new Date().toISOString(),
        started_at: null,
        completed_at: null,
        queue_position: null,
        progress: null,
        metrics: { queue_ms: null, predict_ms: null, total_ms: null, batch_size: null },
      },
    });
    await journal.save(record("was-queued", "queued", 0));
    await journal.save(record("was-running", "processing", 1));
    await journal.save(record("crashed-twice", "processing", 2));
    const { service } = await setup({ stateDir: join(dir, "state"), maxAttempts: 2 });
    expect((await finished(service, "was-queued")).status).toBe("succeeded");
    expect((await finished(service, "was-running")).status).toBe("succeeded");
    const gaveUp = await finished(service, "crashed-twice");
    expect(gaveUp.status).toBe("failed");
    expect(gaveUp.error?.code).toBe("interrupted");
    const onDisk = await new Journal(join(dir, "state")).loadAll();
    expect(onDisk.map((r) => r.prediction.status).sort()).toEqual([
      "failed",
      "succeeded",
      "succeeded",
    ]);
  });

  it("rejects input the model cannot run before accepting it, naming the wire field", async () => {
    const { service } = await setup();
    await expect(service.create("bad", body("x", { width: 10 }), "1")).rejects.toMatchObject({
      code: "invalid_parameter",
      param: "input.width",
    });
    expect(service.get("bad")).toBeUndefined();
  });

  it("counts images, predictions and batch sizes in the metrics", async () => {
    const { service, metrics } = await setup();
    await service.create("m", body("x", { num_images: 2 }), "1");
    await finished(service, "m");
    const text = metrics.render();
    expect(text).toContain("easel_images_total 2");
    expect(text).toContain('easel_predictions_total{status="succeeded"} 1');
    expect(text).toMatch(/easel_batch_size_count 1/);
  });

  it("forgets finished predictions after the retention period, from memory and the journal", async () => {
    const { service, config } = await setup({ retentionMs: 50 });
    await service.create("old", body("x"), "1");
    expect((await finished(service, "old")).status).toBe("succeeded");
    // The periodic sweep (every retention period, at most hourly) forgets it.
    await new Promise((r) => setTimeout(r, 150));
    expect(service.get("old")).toBeUndefined();
    const onDisk = await new Journal(config.stateDir).loadAll();
    expect(onDisk.map((r) => r.prediction.id)).not.toContain("old");
  });
});
