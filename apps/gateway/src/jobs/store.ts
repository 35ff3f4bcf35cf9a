import type { FailureCode, GenerationInput, JobStatus, StoredImage } from "@easel/schema";

/** The gateway's durable record of a job. */
export interface JobRecord {
  id: string;
  keyId: string;
  status: JobStatus;
  model: string;
  input: GenerationInput;
  /** SHA-256 of the canonical create body (idempotency). */
  bodyHash: string;
  /** Inference backend that accepted the job; null until one has. */
  backend: string | null;
  seed: number | null;
  images: StoredImage[];
  error: { code: FailureCode; message: string } | null;
  progress: { step: number; total: number } | null;
  createdAt: string;
  completedAt: string | null;
  webhook: WebhookState | null;
  /** `b64_json` when the creator asked for base64 images in `jobs.get` and the final event. */
  responseFormat?: "url" | "b64_json";
}

export interface WebhookState {
  url: string;
  delivered: boolean;
  attempts: number;
  /** Epoch ms of the next attempt; null once delivered or given up. */
  nextAttemptAt: number | null;
  lastError: string | null;
}

export type IdempotencyClaim =
  | { kind: "claimed" }
  | { kind: "done"; jobId: string; bodyHash: string }
  | { kind: "in_progress"; bodyHash: string };

/**
 * Durable job records and idempotency keys. Implementations: a directory of JSON files (Node) and
 * Durable Object storage (Workers). `claimIdempotency` must be atomic: of two concurrent claims of
 * the same key, exactly one is `claimed`.
 */
export interface JobStore {
  claimIdempotency(
    keyId: string,
    idempotencyKey: string,
    bodyHash: string,
  ): Promise<IdempotencyClaim>;
  finishIdempotency(keyId: string, idempotencyKey: string, jobId: string): Promise<void>;
  releaseIdempotency(keyId: string, idempotencyKey: string): Promise<void>;
  save(job: JobRecord): Promise<void>;
  delete(keyId: string, jobId: string): Promise<void>;
  get(keyId: string, jobId: string): Promise<JobRecord | null>;
  /**
   * The key's jobs, newest first; `cursor` is the last id of the previous page. null when the
   * cursor names no job of the key (a plain value, not an error: it crosses Durable Object RPC).
   */
  list(
    keyId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ items: JobRecord[]; nextCursor: string | null } | null>;
  countActive(keyId: string): Promise<number>;
  /**
   * Forgets finished jobs that ended before `cutoffMs` (epoch ms) and owe no webhook, with the
   * idempotency keys that name them. Returns how many went and when the oldest finished job left
   * ended (epoch ms, null if none), so a caller can sleep until that one is due.
   */
  expire(cutoffMs: number): Promise<{ removed: number; oldestFinishedMs: number | null }>;
  /** Jobs that are not finished, or whose webhook is still due, across all keys. */
  pending(): Promise<JobRecord[]>;
}

export const isTerminal = (status: JobStatus) =>
  status === "succeeded" || status === "failed" || status === "canceled";

/** Orders job records newest first, ties broken by id, so pages are stable. */
export function newestFirst(a: JobRecord, b: JobRecord): number {
  return b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
}

/**
 * Pages through records sorted newest first. The cursor is the id of the last item returned, so a
 * page never repeats or skips items when new jobs arrive in between.
 */
export function paginate(sorted: JobRecord[], limit: number, cursor?: string) {
  const after = cursor === undefined ? -1 : sorted.findIndex((j) => j.id === cursor);
  // null, not the first page: restarting would silently repeat items to a client paging on.
  if (cursor !== undefined && after === -1) return null;
  const start = after + 1;
  const items = sorted.slice(start, start + limit);
  const more = start + limit < sorted.length;
  return { items, nextCursor: more ? (items.at(-1)?.id ?? null) : null };
}
