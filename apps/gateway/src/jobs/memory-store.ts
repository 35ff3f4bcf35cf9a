import {
  type IdempotencyClaim,
  isTerminal,
  type JobRecord,
  type JobStore,
  newestFirst,
  paginate,
} from "./store.ts";

/**
 * A JobStore held in memory, with an optional hook to persist each change (the file store and the
 * Durable Object wrap it). Single-threaded JavaScript makes each method atomic.
 */
export class MemoryJobStore implements JobStore {
  protected readonly jobs = new Map<string, JobRecord>();
  protected readonly idempotency = new Map<string, { bodyHash: string; jobId: string | null }>();

  async claimIdempotency(keyId: string, key: string, bodyHash: string): Promise<IdempotencyClaim> {
    const slot = `${keyId}\u0000${key}`;
    const existing = this.idempotency.get(slot);
    if (!existing) {
      this.idempotency.set(slot, { bodyHash, jobId: null });
      await this.persistIdempotency(slot);
      return { kind: "claimed" };
    }
    return existing.jobId === null
      ? { kind: "in_progress", bodyHash: existing.bodyHash }
      : { kind: "done", jobId: existing.jobId, bodyHash: existing.bodyHash };
  }

  async finishIdempotency(keyId: string, key: string, jobId: string): Promise<void> {
    const slot = `${keyId}\u0000${key}`;
    const existing = this.idempotency.get(slot);
    if (existing) existing.jobId = jobId;
    await this.persistIdempotency(slot);
  }

  async releaseIdempotency(keyId: string, key: string): Promise<void> {
    const slot = `${keyId}\u0000${key}`;
    this.idempotency.delete(slot);
    await this.persistIdempotency(slot);
  }

  async save(job: JobRecord): Promise<void> {
    this.jobs.set(job.id, structuredClone(job));
    await this.persistJob(job.id);
  }

  async delete(keyId: string, jobId: string): Promise<void> {
    if (this.jobs.get(jobId)?.keyId !== keyId) return;
    this.jobs.delete(jobId);
    await this.persistJob(jobId);
  }

  async get(keyId: string, jobId: string): Promise<JobRecord | null> {
    const job = this.jobs.get(jobId);
    return job && job.keyId === keyId ? structuredClone(job) : null;
  }

  async list(keyId: string, limit: number, cursor?: string) {
    const mine = [...this.jobs.values()].filter((j) => j.keyId === keyId).sort(newestFirst);
    const page = paginate(mine, limit, cursor);
    if (page === null) return null;
    return { items: page.items.map((j) => structuredClone(j)), nextCursor: page.nextCursor };
  }

  async expire(cutoffMs: number) {
    const gone = new Set<string>();
    let oldestFinishedMs: number | null = null;
    for (const job of this.jobs.values()) {
      if (!isTerminal(job.status) || job.completedAt === null) continue;
      if (job.webhook?.nextAttemptAt != null) continue;
      const ended = Date.parse(job.completedAt);
      if (ended < cutoffMs) gone.add(job.id);
      else oldestFinishedMs = Math.min(oldestFinishedMs ?? ended, ended);
    }
    if (gone.size === 0) return { removed: 0, oldestFinishedMs };
    for (const id of gone) {
      this.jobs.delete(id);
      await this.persistJob(id);
    }
    for (const [slot, entry] of this.idempotency) {
      if (entry.jobId === null || !gone.has(entry.jobId)) continue;
      this.idempotency.delete(slot);
      await this.persistIdempotency(slot);
    }
    return { removed: gone.size, oldestFinishedMs };
  }

  async countActive(keyId: string): Promise<number> {
    let n = 0;
    for (const job of this.jobs.values()) if (job.keyId === keyId && !isTerminal(job.status)) n++;
    return n;
  }

  async pending(): Promise<JobRecord[]> {
    return [...this.jobs.values()]
      .filter(
        (j) => !isTerminal(j.status) || (j.webhook !== null && j.webhook.nextAttemptAt !== null),
      )
      .map((j) => structuredClone(j));
  }

  /** Hooks for durable subclasses; the memory store keeps nothing. */
  protected async persistJob(_id: string): Promise<void> {}
  protected async persistIdempotency(_slot: string): Promise<void> {}
}
