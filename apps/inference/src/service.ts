import {
  decodeImage,
  encodeImage,
  formatParameters,
  InvalidParameterError,
  type RgbImage,
  resizeRgb,
} from "@easel/pipeline";
import {
  type CreatePrediction,
  EaselError,
  type FailureCode,
  type Prediction,
  type PredictionEvent,
  type StoredImage,
  TERMINAL_STATUSES,
} from "@easel/schema";
import type { ObjectStore } from "@easel/storage";
import { BatchQueue, type QueuedJob } from "./batch-queue.ts";
import type { InferenceConfig } from "./config.ts";
import type { EventHub } from "./events.ts";
import type { GenerateRequest, GenerateResult } from "./generator.ts";
import type { Journal, PredictionRecord } from "./journal.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { ModelRegistry } from "./models.ts";

export interface ServiceDeps {
  config: InferenceConfig;
  journal: Journal;
  store: ObjectStore;
  models: ModelRegistry;
  events: EventHub;
  metrics: Metrics;
  logger: Logger;
}

interface Job extends QueuedJob {
  request: GenerateRequest;
  model: string;
}

/** A batch being generated: members share one abort controller (they share the model calls). */
interface RunningBatch {
  controller: AbortController;
  records: PredictionRecord[];
}

/** Optional request context, for logs. */
export interface RequestContext {
  requestId?: string;
}

const CONTENT_TYPES = { png: "image/png", webp: "image/webp", jpeg: "image/jpeg" } as const;
/** Terminal records stay in memory this long for GET and event replay, then only on disk. */
const EVENT_RETENTION_MS = 10 * 60_000;
/** Finished batches whose images may be stored while the next batch generates. */
const MAX_COMPLETING = 2;

/**
 * Owns predictions from acceptance to a terminal state: validates against the model, journals
 * before acknowledging, queues, runs batches, stores images and publishes events. Every state
 * change is journaled, so a restart resumes or fails (with a reason) whatever was in flight.
 */
export class PredictionService {
  private readonly records = new Map<string, PredictionRecord>();
  private readonly queue: BatchQueue<Job>;
  private readonly writes = new Map<string, Promise<void>>();
  private readonly running = new Map<string, RunningBatch>();
  /** Callbacks waiting for a prediction to reach a terminal state (`waitFor`). */
  private readonly settleWaiters = new Map<string, Set<() => void>>();
  /** Batches whose images are being stored (at most MAX_COMPLETING at a time). */
  private readonly completing = new Set<Promise<void>>();
  /** Predictions whose terminal record is being written. */
  private readonly finishing = new Set<string>();
  private reserving = 0;
  private readonly creating = new Map<string, Promise<unknown>>();
  private sweeper: NodeJS.Timeout | undefined;
  private accepting = false;
  private stopping = false;
  private worker: Promise<void> | null = null;

  constructor(private readonly deps: ServiceDeps) {
    const { config } = deps;
    this.queue = new BatchQueue<Job>({
      capacity: config.queueCapacity,
      maxBatchSize: config.maxBatchSize,
      maxWaitMs: config.batchWaitMs,
      batching: config.batching,
    });
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  get inFlight(): number {
    return this.running.size;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** `starting` until the journal is replayed, `stopping` once shutdown began. */
  get phase(): "starting" | "running" | "stopping" {
    if (this.stopping) return "stopping";
    return this.accepting ? "running" : "starting";
  }

  /** Replays the journal (resuming or failing interrupted work), then starts the worker. */
  async start(): Promise<void> {
    const { journal, config, logger } = this.deps;
    if (this.stopping) return; // SIGTERM arrived while the models were loading
    await journal.open();
    for (const record of await journal.loadAll()) {
      if (this.expired(record)) {
        await journal.remove(record.prediction.id);
        continue;
      }
      this.records.set(record.prediction.id, record);
      const { status, id } = record.prediction;
      if (status !== "queued" && status !== "processing") continue;
      if (record.attempts >= config.maxAttempts) {
        await this.finish(record, "failed", {
          code: "interrupted",
          message: `the service stopped ${record.attempts} times while running this prediction; giving up`,
        });
        continue;
      }
      try {
        const job = await this.jobFor(record);
        record.prediction.status = "queued";
        record.prediction.started_at = null;
        record.prediction.progress = null;
        // Resumed work may exceed the queue's nominal capacity: it was accepted before.
        this.queue.tryEnqueue(job) || this.forceEnqueue(job);
        logger.info("prediction resumed", { predictionId: id, attempts: record.attempts });
      } catch (error) {
        await this.finish(record, "failed", {
          code: "internal_error",
          message: (error as Error).message,
        });
      }
    }
    if (this.stopping) return;
    this.accepting = true;
    this.worker = this.work();
    this.sweeper = setInterval(
      () => void this.forgetExpired(),
      Math.min(config.retentionMs, 3_600_000),
    );
    this.sweeper.unref();
  }

  /** Finished predictions past the retention period leave memory and the journal. */
  async forgetExpired(): Promise<number> {
    let forgotten = 0;
    for (const record of [...this.records.values()]) {
      if (!this.expired(record)) continue;
      this.records.delete(record.prediction.id);
      this.deps.events.forget(record.prediction.id);
      await this.deps.journal.remove(record.prediction.id).catch(() => {});
      forgotten++;
    }
    return forgotten;
  }

  private expired(record: PredictionRecord, now = Date.now()): boolean {
    const completed = record.prediction.completed_at;
    return completed !== null && Date.parse(completed) + this.deps.config.retentionMs < now;
  }

  get(id: string): Prediction | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    return this.view(record);
  }

  /**
   * Creates a prediction, or returns the existing one for the same id and body.
   * @throws EaselError conflict (same id, other body), invalid_parameter, queue_full, not_ready
   */
  async create(
    id: string,
    body: CreatePrediction,
    inputHash: string,
    context: RequestContext = {},
  ): Promise<{ prediction: Prediction; created: boolean }> {
    // Validation runs in the pipeline's worker thread (asynchronous): creations of one id are
    // serialized so that two concurrent PUTs cannot both create it.
    const inFlight = this.creating.get(id);
    if (inFlight) {
      await inFlight.catch(() => {});
      return await this.create(id, body, inputHash, context);
    }
    const creation = this.createOnce(id, body, inputHash, context);
    this.creating.set(id, creation);
    try {
      return await creation;
    } finally {
      this.creating.delete(id);
    }
  }

  private async createOnce(
    id: string,
    body: CreatePrediction,
    inputHash: string,
    context: RequestContext,
  ): Promise<{ prediction: Prediction; created: boolean }> {
    const existing = this.records.get(id);
    if (existing) {
      if (existing.inputHash !== inputHash) {
        throw new EaselError("conflict", `prediction ${id} already exists with a different input`, {
          param: "id",
        });
      }
      return { prediction: this.view(existing), created: false };
    }
    if (!this.accepting)
      throw new EaselError("not_ready", "the service is not accepting work", { retryAfter: 5 });
    const { config } = this.deps;
    const modelName = body.model ?? config.defaultModel;
    const generator = this.deps.models.get(modelName);
    if (!generator) {
      const names = this.deps.models.list().map((g) => g.info.name);
      throw new EaselError(
        "invalid_parameter",
        `model must be one of ${names.join(", ")}, got ${JSON.stringify(modelName)}`,
        {
          param: "model",
        },
      );
    }
    const seed = body.input.seed ?? randomSeed();
    const now = new Date();
    const record: PredictionRecord = {
      inputHash,
      attempts: 0,
      deadlineAt: now.getTime() + config.deadlineMs,
      prediction: {
        id,
        model: modelName,
        status: "queued",
        input: body.input,
        seed,
        output: null,
        error: null,
        created_at: now.toISOString(),
        started_at: null,
        completed_at: null,
        queue_position: null,
        progress: null,
        metrics: { queue_ms: null, predict_ms: null, total_ms: null, batch_size: null },
      },
    };
    const job = await this.jobFor(record); // validates against the model before anything is accepted
    if (this.queue.depth + this.reserving >= config.queueCapacity) {
      throw new EaselError(
        "queue_full",
        `the queue is full (${config.queueCapacity} predictions); retry later`,
        {
          retryAfter: Math.max(1, Math.ceil(this.queue.depth / 2)),
        },
      );
    }
    this.reserving += 1;
    try {
      this.records.set(id, record);
      await this.persist(record);
    } catch (error) {
      this.records.delete(id);
      throw error;
    } finally {
      this.reserving -= 1;
    }
    this.queue.tryEnqueue(job) || this.forceEnqueue(job);
    this.publish(id, { type: "queued", position: this.queue.position(id) ?? 0 });
    this.deps.logger.info("prediction accepted", {
      ...context,
      predictionId: id,
      model: modelName,
      ...(config.logPrompts ? { prompt: body.input.prompt } : {}),
    });
    return { prediction: this.view(record), created: true };
  }

  /**
   * Cancels a queued or running prediction; a finished one is returned unchanged. A running one
   * ends at once; its batch stops between steps only when no other member still needs it.
   */
  async cancel(id: string, context: RequestContext = {}): Promise<Prediction> {
    const record = this.records.get(id);
    if (!record) throw new EaselError("not_found", `prediction ${id} not found`);
    const { status } = record.prediction;
    if (status === "queued") {
      this.queue.remove(id);
      await this.finish(record, "canceled", null);
    } else if (status === "processing") {
      const batch = this.running.get(id);
      await this.finish(record, "canceled", null);
      if (batch) this.abortIfIdle(batch, "canceled");
    }
    if (status === "queued" || status === "processing") {
      this.deps.logger.info("prediction canceled", { ...context, predictionId: id, was: status });
    }
    return this.view(record);
  }

  /** Resolves with the prediction once terminal, or its current state after `ms`. */
  async waitFor(id: string, ms: number): Promise<Prediction | undefined> {
    const record = this.records.get(id);
    if (!record) return undefined;
    if (TERMINAL_STATUSES.includes(record.prediction.status) || ms <= 0) return this.view(record);
    // Not an EventHub subscription: previews are only rendered for real SSE listeners.
    await new Promise<void>((resolve) => {
      let waiters = this.settleWaiters.get(id);
      if (!waiters) {
        waiters = new Set();
        this.settleWaiters.set(id, waiters);
      }
      const set = waiters;
      const timer = setTimeout(done, ms);
      set.add(done);
      function done() {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      }
    });
    return this.view(record);
  }

  /**
   * Stops taking work, lets running batches finish within `graceMs`, and leaves queued predictions
   * journaled as queued: the next start resumes them.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    this.stopping = true;
    clearInterval(this.sweeper);
    this.queue.close();
    const grace = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([this.worker, grace]);
    for (const batch of this.running.values()) batch.controller.abort(new Error("shutdown"));
    await Promise.race([this.worker, new Promise((r) => setTimeout(r, 2000).unref())]);
    await Promise.allSettled(this.completing);
    await Promise.allSettled(this.writes.values());
  }

  private async work(): Promise<void> {
    for (;;) {
      // Bounded overlap: with slow storage, finished images must not pile up in memory.
      while (this.completing.size >= MAX_COMPLETING) await Promise.race(this.completing);
      const batch = await this.queue.take();
      if (batch.length === 0 || this.stopping) return;
      await this.runBatch(batch).catch((error) => {
        this.deps.logger.error("batch crashed", { error: (error as Error).message });
      });
    }
  }

  private async runBatch(batch: Job[]): Promise<void> {
    const { metrics, logger } = this.deps;
    const now = Date.now();
    const members: { job: Job; record: PredictionRecord }[] = [];
    for (const job of batch) {
      const record = this.records.get(job.id);
      if (record?.prediction.status !== "queued") continue;
      if (now > record.deadlineAt) {
        await this.finish(record, "failed", {
          code: "deadline_exceeded",
          message: "the deadline passed while queued",
        });
        continue;
      }
      members.push({ job, record });
    }
    const first = members[0];
    if (!first) return;
    const generator = this.deps.models.get(first.job.model);
    if (!generator) throw new Error(`model ${first.job.model} vanished`);
    const running: RunningBatch = {
      controller: new AbortController(),
      records: members.map((m) => m.record),
    };
    const { controller } = running;
    const startedAt = new Date();
    for (const { record } of members) {
      record.attempts += 1;
      record.prediction.status = "processing";
      record.prediction.started_at = startedAt.toISOString();
      record.prediction.metrics.queue_ms =
        startedAt.getTime() - Date.parse(record.prediction.created_at);
      record.prediction.metrics.batch_size = members.length;
      this.running.set(record.prediction.id, running);
    }
    // The attempt is journaled before the run: a crash from here on counts against maxAttempts.
    await Promise.all(members.map(({ record }) => this.persist(record)));
    for (const { record } of members) this.publish(record.prediction.id, { type: "started" });
    metrics.batchSize.observe(members.length);

    const isProcessing = (record: PredictionRecord) => this.isRunning(record);
    // Members past their deadline fail now; the batch goes on for the others, or stops when none is left.
    const deadlineTimer = setInterval(() => {
      for (const { record } of members) {
        if (isProcessing(record) && Date.now() > record.deadlineAt) {
          this.finish(record, "failed", {
            code: "deadline_exceeded",
            message: "the deadline passed while running",
          })
            .catch((error: unknown) => {
              logger.error("journal write failed", {
                predictionId: record.prediction.id,
                error: (error as Error).message,
              });
            })
            .finally(() => this.abortIfIdle(running, "deadline"));
        }
      }
    }, 250);
    let lastStep = Date.now();
    try {
      const results = await generator.generateBatch(
        members.map(({ job }) => job.request),
        {
          signal: controller.signal,
          onStep: (step, total, previews) => {
            const t = Date.now();
            metrics.stepSeconds.observe((t - lastStep) / 1000);
            lastStep = t;
            members.forEach(({ record }, i) => {
              if (!isProcessing(record)) return;
              record.prediction.progress = { step, total };
              this.publish(record.prediction.id, { type: "progress", step, total });
              const preview = previews?.[i];
              if (preview && this.deps.events.hasListeners(record.prediction.id)) {
                const png = encodeImage(preview, "png");
                this.publish(record.prediction.id, { type: "preview", step, image: toBase64(png) });
              }
            });
          },
        },
      );
      const predictMs = Date.now() - startedAt.getTime();
      // Storing overlaps the next batch's generation: the engine does not wait on image encoding,
      // uploads and journal fsyncs.
      this.track(this.completeBatch(members, results, predictMs));
    } catch (error) {
      const reason = controller.signal.aborted
        ? String((controller.signal.reason as Error | undefined)?.message ?? "")
        : "";
      for (const { record } of members) {
        if (!isProcessing(record)) continue;
        if (reason === "shutdown") {
          // Left journaled as processing: the next start resumes it (attempts counts this try).
          continue;
        }
        const code: FailureCode =
          error instanceof InvalidParameterError ? "invalid_parameter" : "model_error";
        logger.error("generation failed", {
          predictionId: record.prediction.id,
          error: (error as Error).message,
        });
        await this.finish(record, "failed", { code, message: (error as Error).message });
      }
    } finally {
      clearInterval(deadlineTimer);
      for (const { record } of members) {
        if (this.running.get(record.prediction.id) === running)
          this.running.delete(record.prediction.id);
      }
    }
  }

  /** Stores a finished batch's images and finishes its members. */
  private async completeBatch(
    members: { job: Job; record: PredictionRecord }[],
    results: GenerateResult[],
    predictMs: number,
  ): Promise<void> {
    const { metrics, logger } = this.deps;
    const isProcessing = (record: PredictionRecord) => this.isRunning(record);
    await Promise.all(
      members.map(async ({ job, record }, i) => {
        if (!isProcessing(record)) return; // canceled or failed while the batch ran
        const result = results[i];
        if (!result)
          return this.finish(record, "failed", {
            code: "internal_error",
            message: "no result for this request",
          });
        try {
          record.prediction.metrics.predict_ms = predictMs;
          const images = await this.storeImages(record, job, result.images);
          if (!isProcessing(record)) return; // canceled while the images were stored
          record.prediction.output = { images };
          metrics.images.inc({}, result.images.length);
          await this.finish(record, "succeeded", null);
        } catch (error) {
          logger.error("storing images failed", {
            predictionId: record.prediction.id,
            error: (error as Error).message,
          });
          await this.finish(record, "failed", {
            code: "storage_error",
            message: (error as Error).message,
          });
        }
      }),
    );
  }

  /** Keeps a batch's completion in `completing` until it settles (shutdown waits for them). */
  private track(completion: Promise<void>): void {
    const tracked = completion
      .catch((error: unknown) => {
        this.deps.logger.error("completing a batch failed", { error: (error as Error).message });
      })
      .finally(() => this.completing.delete(tracked));
    this.completing.add(tracked);
  }

  /** Stops a batch between steps once none of its members is still processing. */
  private abortIfIdle(batch: RunningBatch, reason: string): void {
    if (batch.controller.signal.aborted) return;
    if (batch.records.every((r) => !this.isRunning(r))) {
      batch.controller.abort(new Error(reason));
    }
  }

  private async storeImages(
    record: PredictionRecord,
    job: Job,
    images: RgbImage[],
  ): Promise<StoredImage[]> {
    const { store, config } = this.deps;
    const p = record.prediction;
    const format = p.input.output_format ?? "png";
    const text = {
      parameters: formatParameters({
        prompt: job.request.prompt,
        ...(job.request.negativePrompt ? { negativePrompt: job.request.negativePrompt } : {}),
        steps: job.request.steps,
        scheduler: job.request.scheduler,
        guidanceScale: job.request.guidanceScale,
        seed: job.request.seed,
        width: job.request.width,
        height: job.request.height,
        model: p.model,
      }),
    };
    return await Promise.all(
      images.map(async (image, index) => {
        const bytes = encodeImage(image, format, { text });
        const key = `predictions/${p.id}/${index}.${format === "jpeg" ? "jpg" : format}`;
        await store.put(key, bytes, {
          contentType: CONTENT_TYPES[format],
          metadata: { prediction: p.id, seed: String(p.seed) },
        });
        const signed = await store.presignGet(key, config.presignExpiryS);
        return {
          key,
          format,
          width: image.width,
          height: image.height,
          seed: p.seed,
          bytes: bytes.length,
          // Stores without presigned URLs (local files) are served by this service's /v1/files route.
          ...(signed
            ? { url: signed.url, expires_at: signed.expiresAt.toISOString() }
            : { url: `/v1/files/${key}` }),
        };
      }),
    );
  }

  private async finish(
    record: PredictionRecord,
    status: "succeeded" | "failed" | "canceled",
    error: { code: FailureCode; message: string } | null,
  ): Promise<void> {
    const p = record.prediction;
    // The first decision stands: a cancel can race the end of its batch, or a deadline a cancel.
    if (p.completed_at !== null || this.finishing.has(p.id)) return;
    this.finishing.add(p.id);
    const now = Date.now();
    const terminal: Prediction = {
      ...p,
      status,
      error,
      completed_at: new Date(now).toISOString(),
      queue_position: null,
      metrics: { ...p.metrics, total_ms: now - Date.parse(p.created_at) },
    };
    try {
      // Durable before visible: no client sees a terminal state that a crash could take back.
      await this.persist({ ...record, prediction: terminal });
    } finally {
      this.finishing.delete(p.id);
    }
    record.prediction = terminal;
    this.running.delete(p.id);
    this.deps.metrics.predictions.inc({ status });
    this.deps.metrics.requestSeconds.observe((terminal.metrics.total_ms ?? 0) / 1000, { status });
    if (error) this.deps.metrics.errors.inc({ code: error.code });
    this.publish(p.id, { type: status, prediction: this.view(record) });
    for (const settle of this.settleWaiters.get(p.id) ?? []) settle();
    this.settleWaiters.delete(p.id);
    setTimeout(() => this.deps.events.forget(p.id), EVENT_RETENTION_MS).unref();
  }

  /** Processing and not on its way to a terminal state. */
  private isRunning(record: PredictionRecord): boolean {
    return record.prediction.status === "processing" && !this.finishing.has(record.prediction.id);
  }

  private async jobFor(record: PredictionRecord): Promise<Job> {
    const p = record.prediction;
    const generator = this.deps.models.get(p.model);
    if (!generator)
      throw new EaselError("invalid_parameter", `model ${p.model} is not loaded`, {
        param: "model",
      });
    const info = generator.info;
    const input = p.input;
    const request: GenerateRequest = {
      prompt: input.prompt,
      negativePrompt: input.negative_prompt ?? "",
      width: input.width ?? info.defaultWidth,
      height: input.height ?? info.defaultHeight,
      steps: input.steps ?? info.defaultSteps,
      guidanceScale: input.guidance_scale ?? info.defaultGuidance,
      scheduler: input.scheduler ?? info.defaultScheduler,
      seed: p.seed,
      numImages: input.num_images ?? 1,
      ...(input.strength === undefined ? {} : { strength: input.strength }),
    };
    if (input.image !== undefined) request.image = decodeInputImage(input.image, request);
    try {
      await generator.validate(request);
    } catch (error) {
      if (error instanceof InvalidParameterError) {
        throw new EaselError(
          "invalid_parameter",
          `input.${wireName(error.param)}: ${error.message}`,
          {
            param: `input.${wireName(error.param)}`,
            cause: error,
          },
        );
      }
      throw error;
    }
    const imageKey = request.image ? `|img:${p.id}` : "";
    return {
      id: p.id,
      model: p.model,
      request,
      enqueuedAt: Date.now(),
      batchKey: `${p.model}|${request.width}x${request.height}|${request.steps}|${request.scheduler}${imageKey}`,
    };
  }

  private forceEnqueue(job: Job): void {
    // Only for work accepted earlier (journal replay) or raced with shutdown: it must not be dropped.
    (this.queue.queued() as Job[]).push(job);
  }

  private persist(record: PredictionRecord): Promise<void> {
    const id = record.prediction.id;
    const snapshot: PredictionRecord = structuredClone(record);
    // Writes of one record are serialized so an older snapshot never lands after a newer one; a
    // failed write does not block the next one, and its rejection goes to this caller only.
    const previous = this.writes.get(id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.deps.journal.save(snapshot));
    this.writes.set(id, next);
    next
      .catch(() => {})
      .finally(() => {
        if (this.writes.get(id) === next) this.writes.delete(id);
      });
    return next;
  }

  private publish(id: string, event: PredictionEvent): void {
    this.deps.events.publish(id, event);
  }

  private view(record: PredictionRecord): Prediction {
    const p = record.prediction;
    return { ...p, queue_position: p.status === "queued" ? this.queue.position(p.id) : null };
  }
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function decodeInputImage(value: string, request: GenerateRequest): RgbImage {
  const base64 = value.replace(/^data:image\/[a-z]+;base64,/, "");
  if (!/^[A-Za-z0-9+/]+=*$/.test(base64)) {
    throw new EaselError(
      "invalid_parameter",
      "input.image must be a base64 PNG or JPEG (optionally a data URL)",
      {
        param: "input.image",
      },
    );
  }
  try {
    const image = decodeImage(new Uint8Array(Buffer.from(base64, "base64")));
    return image.width === request.width && image.height === request.height
      ? image
      : resizeRgb(image, request.width, request.height);
  } catch (error) {
    if (error instanceof EaselError) throw error;
    throw new EaselError(
      "invalid_parameter",
      `input.image could not be decoded: ${(error as Error).message}`,
      {
        param: "input.image",
        cause: error,
      },
    );
  }
}

/** The pipeline names parameters in camelCase; the wire uses snake_case. */
function wireName(param: string): string {
  const names: Record<string, string> = {
    negativePrompt: "negative_prompt",
    guidanceScale: "guidance_scale",
    numImages: "num_images",
  };
  return names[param] ?? param;
}
