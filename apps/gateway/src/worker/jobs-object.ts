import { DurableObject } from "cloudflare:workers";
import { jobRetentionMs } from "../env.ts";
import { MemoryJobStore } from "../jobs/memory-store.ts";
import type { IdempotencyClaim, JobRecord } from "../jobs/store.ts";
import type { WorkerEnv } from "./env.ts";
import { buildJobsService } from "./services.ts";

/** MemoryJobStore written through to Durable Object storage. */
class StorageJobStore extends MemoryJobStore {
  constructor(private readonly storage: DurableObjectStorage) {
    super();
  }

  async load(): Promise<void> {
    for (const [, job] of await this.storage.list<JobRecord>({ prefix: "job:" }))
      this.jobs.set(job.id, job);
    for (const [key, entry] of await this.storage.list<{ bodyHash: string; jobId: string | null }>({
      prefix: "idem:",
    })) {
      this.idempotency.set(key.slice("idem:".length), entry);
    }
  }

  protected override async persistJob(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (job) await this.storage.put(`job:${id}`, job);
    else await this.storage.delete(`job:${id}`);
  }

  protected override async persistIdempotency(slot: string): Promise<void> {
    const entry = this.idempotency.get(slot);
    if (entry) await this.storage.put(`idem:${slot}`, entry);
    else await this.storage.delete(`idem:${slot}`);
  }
}

/**
 * The Workers job store: one object holds every job record and idempotency key (strongly
 * consistent, one request at a time), persisted in its storage so jobs survive restarts and
 * deploys. Its alarm reconciles unfinished jobs, delivers webhooks and forgets finished jobs
 * after EASEL_JOB_RETENTION_HOURS.
 */
export class JobsDurableObject extends DurableObject<WorkerEnv> {
  private readonly store: StorageJobStore;
  /**
   * No finished job is due to be forgotten before this (epoch ms), so alarms before it skip the
   * scan. In memory only: a restarted object scans at its first alarm.
   */
  private noExpiryBefore = 0;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    this.store = new StorageJobStore(ctx.storage);
    ctx.blockConcurrencyWhile(() => this.store.load());
  }

  claimIdempotency(keyId: string, key: string, bodyHash: string): Promise<IdempotencyClaim> {
    return this.store.claimIdempotency(keyId, key, bodyHash);
  }
  finishIdempotency(keyId: string, key: string, jobId: string) {
    return this.store.finishIdempotency(keyId, key, jobId);
  }
  releaseIdempotency(keyId: string, key: string) {
    return this.store.releaseIdempotency(keyId, key);
  }
  async save(job: JobRecord) {
    await this.store.save(job);
    await this.ensureAlarm(1000);
  }
  delete(keyId: string, jobId: string) {
    return this.store.delete(keyId, jobId);
  }
  get(keyId: string, jobId: string) {
    return this.store.get(keyId, jobId);
  }
  list(keyId: string, limit: number, cursor?: string) {
    return this.store.list(keyId, limit, cursor);
  }
  countActive(keyId: string) {
    return this.store.countActive(keyId);
  }
  pending() {
    return this.store.pending();
  }
  expire(cutoffMs: number) {
    return this.store.expire(cutoffMs);
  }

  override async alarm(): Promise<void> {
    const { service, config } = buildJobsService(this.env, this.store);
    const next = await service.reconcile();
    const waits: number[] = [];
    if ((await this.store.pending()).length > 0) waits.push(Math.max(500, Math.min(next, 5000)));
    // Reconciling runs every few seconds while jobs are pending; the retention scan only when due.
    // With nothing pending the object still wakes when its oldest finished job is due to go.
    if (Date.now() >= this.noExpiryBefore) {
      const dueIn = await service.expireFinished();
      // With no finished job, one that finishes later is due a whole retention from now.
      this.noExpiryBefore = Date.now() + (dueIn ?? jobRetentionMs(config));
      if (dueIn !== null) waits.push(Math.max(1000, dueIn));
    } else {
      waits.push(this.noExpiryBefore - Date.now());
    }
    if (waits.length > 0) await this.ensureAlarm(Math.min(...waits));
  }

  private async ensureAlarm(inMs: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > Date.now() + inMs)
      await this.ctx.storage.setAlarm(Date.now() + inMs);
  }
}
