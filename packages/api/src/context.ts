import type { CreateJob, Job, JobEvent, JobPage, Model } from "@easel/schema";

/** The caller, as authenticated by the gateway. */
export interface ApiKeyInfo {
  id: string;
  name: string;
}

/** What the routers need from the gateway: jobs and models, scoped to the calling key. */
export interface JobsApi {
  create(key: ApiKeyInfo, body: CreateJob, options: { idempotencyKey?: string }): Promise<Job>;
  get(key: ApiKeyInfo, id: string): Promise<Job>;
  cancel(key: ApiKeyInfo, id: string): Promise<Job>;
  list(key: ApiKeyInfo, page: { limit: number; cursor?: string }): Promise<JobPage>;
  /** Resolves with the job once it ends, or as it is after `ms`. */
  waitFor(key: ApiKeyInfo, id: string, ms: number, signal?: AbortSignal): Promise<Job>;
  /** Progress, previews and the final job; ends after `completed`. */
  events(key: ApiKeyInfo, id: string, signal: AbortSignal): AsyncIterable<JobEvent>;
}

export interface ModelsApi {
  list(): Promise<Model[]>;
}

export interface ApiContext {
  requestId: string;
  key: ApiKeyInfo | null;
  /** The request's `Idempotency-Key` header, if any. */
  idempotencyKey: string | undefined;
  jobs: JobsApi;
  models: ModelsApi;
}
