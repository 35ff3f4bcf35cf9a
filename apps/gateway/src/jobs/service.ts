import type { ApiKeyInfo, JobsApi } from "@easel/api";
import {
  type CreateJob,
  canonicalJson,
  EaselError,
  type Job,
  type JobEvent,
  type JobImage,
  type JobPage,
  type Prediction,
  type StoredImage,
  sha256Hex,
} from "@easel/schema";
import { toBase64 } from "../base64.ts";
import type { InferenceClient } from "../inference/client.ts";
import type { Logger } from "../logger.ts";
import { isTerminal, type JobRecord, type JobStore } from "./store.ts";
import { type AddressPolicy, WEBHOOK_BACKOFF_S, type WebhookSigner } from "./webhooks.ts";

export interface JobsServiceDeps {
  store: JobStore;
  inference: InferenceClient;
  logger: Logger;
  /** Concurrent-job limit of a key. */
  concurrencyOf(keyId: string): number;
  webhookSigner: WebhookSigner | null;
  webhookPolicy: AddressPolicy;
  /** Public base URL of this gateway, for file URLs of local stores. */
  publicUrl: string;
  /** How long a finished job (and its idempotency key) is kept; forever when absent. */
  retentionMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * Jobs as the public API sees them: idempotent creation, per-key concurrency limits, durable
 * records before acknowledgement, state refreshed from the inference backend, events proxied from
 * it, and completion webhooks. Runtime-neutral: the entries provide the store and the client.
 */
export class JobsService implements JobsApi {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly deps: JobsServiceDeps) {
    this.fetch = deps.fetch ?? ((input, init) => fetch(input, init));
    this.now = deps.now ?? Date.now;
  }

  async create(
    key: ApiKeyInfo,
    body: CreateJob,
    { idempotencyKey }: { idempotencyKey?: string } = {},
  ): Promise<Job> {
    const { store } = this.deps;
    const bodyHash = await sha256Hex(canonicalJson(body));
    if (idempotencyKey !== undefined) {
      if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
        throw new EaselError(
          "invalid_parameter",
          "Idempotency-Key must be 1-255 visible ASCII characters",
          {
            param: "Idempotency-Key",
          },
        );
      }
      const claim = await store.claimIdempotency(key.id, idempotencyKey, bodyHash);
      if (claim.kind !== "claimed" && claim.bodyHash !== bodyHash) {
        throw new EaselError(
          "idempotency_mismatch",
          "Idempotency-Key was already used with a different request body",
          {
            param: "Idempotency-Key",
          },
        );
      }
      if (claim.kind === "in_progress") {
        throw new EaselError(
          "idempotency_in_progress",
          "a request with this Idempotency-Key is still being processed",
          {
            param: "Idempotency-Key",
            retryAfter: 1,
          },
        );
      }
      if (claim.kind === "done") return await this.get(key, claim.jobId);
    }
    try {
      const job = await this.createJob(key, body, bodyHash);
      if (idempotencyKey !== undefined)
        await store.finishIdempotency(key.id, idempotencyKey, job.id);
      return job;
    } catch (error) {
      if (idempotencyKey !== undefined) await store.releaseIdempotency(key.id, idempotencyKey);
      throw error;
    }
  }

  private async createJob(key: ApiKeyInfo, body: CreateJob, bodyHash: string): Promise<Job> {
    const { store, inference } = this.deps;
    if (body.webhook_url !== undefined) {
      if (!this.deps.webhookSigner) {
        throw new EaselError(
          "invalid_parameter",
          "webhook_url is not accepted: this gateway has no EASEL_WEBHOOK_SECRET to sign webhooks",
          {
            param: "webhook_url",
          },
        );
      }
      const reason = await this.deps.webhookPolicy.check(new URL(body.webhook_url));
      if (reason) throw new EaselError("invalid_parameter", reason, { param: "webhook_url" });
    }
    const limit = this.deps.concurrencyOf(key.id);
    if ((await store.countActive(key.id)) >= limit) {
      throw new EaselError(
        "concurrency_limited",
        `key ${key.name} already has ${limit} jobs queued or running`,
        {
          retryAfter: 1,
        },
      );
    }
    const record: JobRecord = {
      id: `job_${randomId()}`,
      keyId: key.id,
      status: "queued",
      model: body.model ?? "",
      input: body.input,
      bodyHash,
      backend: null,
      seed: body.input.seed ?? null,
      images: [],
      error: null,
      progress: null,
      createdAt: new Date(this.now()).toISOString(),
      completedAt: null,
      webhook: body.webhook_url
        ? {
            url: body.webhook_url,
            delivered: false,
            attempts: 0,
            nextAttemptAt: null,
            lastError: null,
          }
        : null,
      ...(body.response_format === undefined ? {} : { responseFormat: body.response_format }),
    };
    // Durable before the backend sees it: a crash between the two leaves a record to reconcile.
    await store.save(record);
    let submitted: Awaited<ReturnType<InferenceClient["submit"]>>;
    try {
      submitted = await inference.submit(record.id, {
        ...(body.model === undefined ? {} : { model: body.model }),
        input: body.input,
      });
    } catch (error) {
      await store.delete(key.id, record.id); // not accepted: the client gets the error, not a job
      throw error;
    }
    record.backend = submitted.backend;
    this.apply(record, submitted.prediction);
    await store.save(record);
    this.deps.logger.info("job accepted", {
      jobId: record.id,
      keyId: key.id,
      backend: submitted.backend,
    });
    return await this.toJob(record, body.response_format === "b64_json");
  }

  async get(key: ApiKeyInfo, id: string, { base64 }: { base64?: boolean } = {}): Promise<Job> {
    const record = await this.mustGet(key, id);
    await this.refresh(record);
    return await this.toJob(record, base64 ?? record.responseFormat === "b64_json");
  }

  async cancel(key: ApiKeyInfo, id: string): Promise<Job> {
    const record = await this.mustGet(key, id);
    if (!isTerminal(record.status) && record.backend) {
      this.apply(record, await this.deps.inference.cancel(record.backend, id));
      if (isTerminal(record.status)) this.scheduleWebhook(record);
      await this.deps.store.save(record);
    }
    return await this.toJob(record, false);
  }

  async list(
    key: ApiKeyInfo,
    { limit, cursor }: { limit: number; cursor?: string },
  ): Promise<JobPage> {
    const page = await this.deps.store.list(key.id, limit, cursor);
    if (page === null) {
      throw new EaselError(
        "invalid_parameter",
        "cursor does not name a job of this key: pass next_cursor from the previous page",
        { param: "cursor" },
      );
    }
    return {
      data: await Promise.all(page.items.map((r) => this.toJob(r, false))),
      next_cursor: page.nextCursor,
    };
  }

  async waitFor(key: ApiKeyInfo, id: string, ms: number, signal?: AbortSignal): Promise<Job> {
    const deadline = this.now() + ms;
    let delay = 100;
    for (;;) {
      const record = await this.mustGet(key, id);
      await this.refresh(record);
      if (isTerminal(record.status) || this.now() >= deadline || signal?.aborted)
        return await this.toJob(record, false);
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - this.now()))));
      delay = Math.min(delay * 1.5, 1000);
    }
  }

  async *events(key: ApiKeyInfo, id: string, signal: AbortSignal): AsyncGenerator<JobEvent> {
    const record = await this.mustGet(key, id);
    if (!isTerminal(record.status) && record.backend) {
      let lastEventId: string | undefined;
      // Reconnect (resuming with Last-Event-ID) if the stream drops before a terminal event.
      for (let reconnects = 0; reconnects < 5 && !signal.aborted; reconnects++) {
        try {
          for await (const { id: eventId, event } of this.deps.inference.events(
            record.backend,
            id,
            signal,
            lastEventId,
          )) {
            lastEventId = eventId ?? lastEventId;
            if (
              event.type === "succeeded" ||
              event.type === "failed" ||
              event.type === "canceled"
            ) {
              this.apply(record, event.prediction);
              // This stream, not refresh(), saw the end: the webhook is due now.
              if (isTerminal(record.status)) this.scheduleWebhook(record);
              await this.deps.store.save(record);
              yield {
                type: "completed",
                job: await this.toJob(record, record.responseFormat === "b64_json"),
              };
              return;
            }
            yield event;
          }
        } catch (error) {
          if (signal.aborted) return;
          this.deps.logger.warn("event stream dropped", {
            jobId: id,
            error: (error as Error).message,
          });
          await new Promise((r) => setTimeout(r, 250 * 2 ** reconnects));
        }
      }
    }
    const latest = await this.get(key, id);
    yield { type: "completed", job: latest };
  }

  /**
   * Brings unfinished jobs up to date and delivers due webhooks. Called on a timer (Node) or a
   * Durable Object alarm (Workers). Returns the ms until it is worth calling again.
   */
  async reconcile(): Promise<number> {
    let next = 60_000;
    for (const record of await this.deps.store.pending()) {
      try {
        await this.refresh(record);
        if (!isTerminal(record.status)) next = Math.min(next, 2000);
        else if (record.webhook?.nextAttemptAt != null) {
          if (record.webhook.nextAttemptAt <= this.now()) await this.deliverWebhook(record);
          if (record.webhook.nextAttemptAt != null)
            next = Math.min(next, Math.max(0, record.webhook.nextAttemptAt - this.now()));
        }
      } catch (error) {
        this.deps.logger.warn("reconcile failed", {
          jobId: record.id,
          error: (error as Error).message,
        });
        next = Math.min(next, 5000);
      }
    }
    return next;
  }

  /**
   * Forgets finished jobs older than the retention (a timer on Node, the Durable Object's alarm
   * on Workers). Returns the ms until the next finished job is due, or null when none is.
   */
  async expireFinished(): Promise<number | null> {
    const { retentionMs, store, logger } = this.deps;
    if (retentionMs === undefined) return null;
    const { removed, oldestFinishedMs } = await store.expire(this.now() - retentionMs);
    if (removed > 0) logger.info("expired finished jobs", { removed, retentionMs });
    return oldestFinishedMs === null ? null : oldestFinishedMs + retentionMs - this.now();
  }

  private async deliverWebhook(record: JobRecord): Promise<void> {
    const hook = record.webhook;
    const signer = this.deps.webhookSigner;
    if (!hook) return;
    if (!signer) {
      // The secret was removed after the job was accepted: give up rather than retry forever.
      hook.nextAttemptAt = null;
      hook.lastError = "EASEL_WEBHOOK_SECRET is not configured";
      await this.deps.store.save(record);
      return;
    }
    const url = new URL(hook.url);
    const refused = await this.deps.webhookPolicy.check(url);
    hook.attempts += 1;
    try {
      if (refused) throw new Error(refused);
      const body = JSON.stringify({
        type: `job.${record.status}`,
        data: await this.toJob(record, false),
      });
      // One message id for every attempt: Standard Webhooks receivers deduplicate on it.
      const headers = await signer.sign(`msg_${record.id}`, Math.floor(this.now() / 1000), body);
      const response = await this.fetch(url, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      if (response.status < 200 || response.status >= 300)
        throw new Error(`POST ${url.host} -> ${response.status}`);
      hook.delivered = true;
      hook.nextAttemptAt = null;
      hook.lastError = null;
    } catch (error) {
      hook.lastError = (error as Error).message;
      const backoff = WEBHOOK_BACKOFF_S[hook.attempts];
      hook.nextAttemptAt = refused || backoff === undefined ? null : this.now() + backoff * 1000;
      this.deps.logger.warn("webhook failed", {
        jobId: record.id,
        attempts: hook.attempts,
        error: hook.lastError,
      });
    }
    await this.deps.store.save(record);
  }

  private async refresh(record: JobRecord): Promise<void> {
    if (isTerminal(record.status) || !record.backend) return;
    let prediction: Prediction;
    try {
      prediction = await this.deps.inference.get(record.backend, record.id);
    } catch (error) {
      if (error instanceof EaselError && error.code === "not_found") {
        record.status = "failed";
        record.error = { code: "interrupted", message: "the inference backend lost this job" };
        record.completedAt = new Date(this.now()).toISOString();
        this.scheduleWebhook(record);
        await this.deps.store.save(record);
      }
      return; // unreachable backend: keep the stored state, try again later
    }
    this.apply(record, prediction);
    await this.deps.store.save(record);
  }

  /** Takes the prediction's state; a job that has just ended gets its webhook scheduled. */
  private apply(record: JobRecord, prediction: Prediction): void {
    applyPrediction(record, prediction);
    if (isTerminal(record.status)) this.scheduleWebhook(record);
  }

  private scheduleWebhook(record: JobRecord): void {
    if (record.webhook && !record.webhook.delivered && record.webhook.attempts === 0) {
      record.webhook.nextAttemptAt = this.now();
    }
  }

  private async mustGet(key: ApiKeyInfo, id: string): Promise<JobRecord> {
    const record = await this.deps.store.get(key.id, id);
    if (!record) throw new EaselError("not_found", `job ${id} not found`, { param: "id" });
    return record;
  }

  private async toJob(record: JobRecord, base64: boolean): Promise<Job> {
    const images: JobImage[] = await Promise.all(
      record.images.map(async (image, index) => {
        const out: JobImage = {
          format: image.format,
          width: image.width,
          height: image.height,
          seed: image.seed,
        };
        const presigned = presignedUrl(image);
        out.url = presigned ?? `${this.deps.publicUrl}/v1/files/${record.id}/${index}`;
        if (presigned && image.expires_at) out.expires_at = image.expires_at;
        if (base64) out.b64_json = toBase64(await this.imageBytes(record, index));
        return out;
      }),
    );
    return {
      id: record.id,
      object: "job",
      status: record.status,
      model: record.model,
      input: record.input,
      seed: record.seed,
      images,
      error: record.error,
      progress: record.progress,
      created_at: record.createdAt,
      completed_at: record.completedAt,
    };
  }

  /** Bytes of one of a job's images: from its presigned URL, else through the backend. */
  async imageBytes(record: JobRecord, index: number): Promise<Uint8Array> {
    const image = record.images[index];
    if (!image || !record.backend)
      throw new EaselError("not_found", `job ${record.id} has no image ${index}`);
    const presigned = presignedUrl(image);
    if (presigned) {
      const response = await this.fetch(presigned, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok)
        throw new EaselError(
          "backend_unavailable",
          `GET image of ${record.id} -> ${response.status}`,
          { retryAfter: 5 },
        );
      return new Uint8Array(await response.arrayBuffer());
    }
    return await this.deps.inference.file(record.backend, image.key);
  }

  /** A job's image for the file route, checking the key owns the job. */
  async file(
    key: ApiKeyInfo,
    id: string,
    index: number,
  ): Promise<{ bytes: Uint8Array; format: string }> {
    const record = await this.mustGet(key, id);
    const bytes = await this.imageBytes(record, index);
    return { bytes, format: record.images[index]?.format ?? "png" };
  }
}

/**
 * The image's presigned object-store URL. Local stores have none: inference then gives a path on
 * its own file route, which clients cannot reach, so those images go through the gateway.
 */
function presignedUrl(image: StoredImage): string | null {
  return image.url !== undefined && /^https?:\/\//i.test(image.url) ? image.url : null;
}

function applyPrediction(record: JobRecord, p: Prediction): void {
  record.status = p.status;
  record.model = p.model;
  record.seed = p.seed;
  record.progress = p.progress;
  record.error = p.error;
  record.completedAt = p.completed_at;
  record.images = p.output?.images ?? [];
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}
