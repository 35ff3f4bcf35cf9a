import type { AppRouter } from "@easel/api";
import type { CreateJob, GenerationInput, Job, JobEvent, JobPage, Model } from "@easel/schema";
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import { EaselError, toEaselError } from "./errors.ts";
import { type RetryOptions, retryingFetch } from "./retry.ts";

export interface EaselClientOptions {
  /** The gateway's base URL, e.g. `https://api.example.com` or `http://127.0.0.1:8787`. */
  baseUrl: string;
  apiKey: string;
  /** A fetch implementation (tests, proxies, edge runtimes). Default: the global fetch. */
  fetch?: typeof fetch;
  retry?: RetryOptions;
}

export interface GenerateProgress {
  step: number;
  /** Steps in all; 0 until the server has said (a preview can come before the first progress). */
  total: number;
  /** A small PNG preview of the latents, as a data URL, when the server sends one. */
  preview?: string;
}

export interface GenerateOptions {
  model?: string;
  onProgress?: (progress: GenerateProgress) => void;
  /** Called once the job is accepted (before any progress). */
  onJob?: (job: Job) => void;
  signal?: AbortSignal;
  /** Fetch image bytes as base64 in the result. Default false (URLs only). */
  base64?: boolean;
}

/** Failed reconnects in a row after which `jobs.events` gives up. */
const MAX_EVENT_RECONNECTS = 4;

/**
 * The typed Easel client for browsers, Node and edge runtimes. Every method throws an
 * {@link EaselError} carrying the server's error code; 429 and 503 are retried after Retry-After.
 *
 * @example
 * const easel = createEaselClient({ baseUrl: "http://127.0.0.1:8787", apiKey: process.env.EASEL_API_KEY! });
 * const job = await easel.generate({ prompt: "a red circle above a blue square" }, {
 *   onProgress: ({ step, total }) => console.log(`${step}/${total}`),
 * });
 * console.log(job.images[0]?.url);
 */
export function createEaselClient({
  baseUrl,
  apiKey,
  fetch: fetchImpl,
  retry,
}: EaselClientOptions) {
  if (!baseUrl) throw new TypeError("createEaselClient: baseUrl is required");
  if (!apiKey) throw new TypeError("createEaselClient: apiKey is required");
  const base: typeof fetch = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  const authed: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${apiKey}`);
    return base(input, { ...init, headers });
  };
  const url = `${baseUrl.replace(/\/+$/, "")}/trpc`;
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url,
          EventSource,
          eventSourceOptions: () => ({ fetch: authed }) as EventSourceInit,
        }),
        false: httpLink({
          url,
          // tRPC's FetchEsque is looser than lib.dom's fetch under exactOptionalPropertyTypes.
          fetch: retryingFetch(authed, retry) as unknown as NonNullable<
            Parameters<typeof httpLink>[0]["fetch"]
          >,
          headers: ({ op }) => {
            const key = (op.context as { idempotencyKey?: string }).idempotencyKey;
            return key ? { "idempotency-key": key } : {};
          },
        }),
      }),
    ],
  });

  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toEaselError(error);
    }
  };

  const jobs = {
    /** Accepts a job; with an `idempotencyKey`, repeating the call returns the same job. */
    create: (
      body: CreateJob,
      {
        idempotencyKey = crypto.randomUUID(),
        signal,
      }: { idempotencyKey?: string; signal?: AbortSignal } = {},
    ) =>
      call(() =>
        trpc.jobs.create.mutate(body, {
          context: { idempotencyKey },
          ...(signal ? { signal } : {}),
        }),
      ),
    get: (id: string, { signal }: { signal?: AbortSignal } = {}): Promise<Job> =>
      call(() => trpc.jobs.get.query({ id }, signal ? { signal } : {})),
    cancel: (id: string): Promise<Job> => call(() => trpc.jobs.cancel.mutate({ id })),
    list: (page: { limit?: number; cursor?: string } = {}): Promise<JobPage> =>
      call(() => trpc.jobs.list.query(page)),
    /**
     * Streams the job's events until it completes (or `signal` aborts). Dropped connections are
     * resumed; a stream that keeps failing (more than 4 reconnects without an event) throws the
     * server's error instead of retrying forever.
     */
    events(id: string, { signal }: { signal?: AbortSignal } = {}): AsyncIterable<JobEvent> {
      return {
        [Symbol.asyncIterator]() {
          const queue: JobEvent[] = [];
          let wake: (() => void) | null = null;
          let failure: unknown = null;
          let done = false;
          let failedReconnects = 0;
          const notify = () => wake?.();
          signal?.addEventListener("abort", notify, { once: true });
          const sub = trpc.jobs.events.subscribe(
            { id },
            {
              ...(signal ? { signal } : {}),
              onData: (event) => {
                failedReconnects = 0;
                queue.push(event as JobEvent);
                if ((event as JobEvent).type === "completed") done = true;
                notify();
              },
              onError: (error) => {
                failure = toEaselError(error);
                notify();
              },
              onConnectionStateChange: (state) => {
                // tRPC reconnects on 5xx forever; give up once it is clearly not transient.
                if (state.state !== "connecting" || !state.error) return;
                if (++failedReconnects > MAX_EVENT_RECONNECTS) {
                  failure = toEaselError(state.error);
                  notify();
                }
              },
              onComplete: () => {
                done = true;
                notify();
              },
            },
          );
          const finish = () => {
            sub.unsubscribe();
            signal?.removeEventListener("abort", notify);
          };
          return {
            async next(): Promise<IteratorResult<JobEvent>> {
              for (;;) {
                const event = queue.shift();
                if (event) return { value: event, done: false };
                if (failure) {
                  finish();
                  throw failure;
                }
                if (done || signal?.aborted) {
                  finish();
                  return { value: undefined, done: true };
                }
                await new Promise<void>((r) => {
                  wake = r;
                });
                wake = null;
              }
            },
            async return(): Promise<IteratorResult<JobEvent>> {
              finish();
              return { value: undefined, done: true };
            },
          };
        },
      };
    },
  };

  return {
    jobs,
    models: {
      list: (): Promise<Model[]> => call(() => trpc.models.list.query()),
    },

    /**
     * Generates images and resolves with the finished job: creates it (idempotently, so retries
     * are safe), follows its events for progress, and cancels it if `signal` aborts.
     * Throws EaselError when the job fails.
     */
    async generate(input: GenerationInput, options: GenerateOptions = {}): Promise<Job> {
      const { model, onProgress, onJob, signal, base64 = false } = options;
      const body: CreateJob = {
        input,
        ...(model ? { model } : {}),
        ...(base64 ? { response_format: "b64_json" as const } : {}),
      };
      const idempotencyKey = crypto.randomUUID();
      const job = await jobs
        .create(body, { idempotencyKey, ...(signal ? { signal } : {}) })
        .catch(async (error: unknown) => {
          // Aborted mid-request: the server may have accepted the job. The same Idempotency-Key
          // finds it (or creates it) so that it can be canceled rather than left running.
          if (signal?.aborted) {
            const orphan = await jobs.create(body, { idempotencyKey }).catch(() => null);
            if (orphan) await jobs.cancel(orphan.id).catch(() => {});
          }
          throw error;
        });
      onJob?.(job);
      try {
        let finished: Job | null =
          job.status === "succeeded" || job.status === "failed" || job.status === "canceled"
            ? job
            : null;
        if (!finished) {
          let total = job.progress?.total ?? 0;
          for await (const event of jobs.events(job.id, signal ? { signal } : {})) {
            if (event.type === "progress") {
              total = event.total;
              onProgress?.({ step: event.step, total });
            } else if (event.type === "preview") {
              onProgress?.({
                step: event.step,
                total,
                preview: `data:image/png;base64,${event.image}`,
              });
            } else if (event.type === "completed") finished = event.job;
          }
        }
        signal?.throwIfAborted();
        finished ??= await jobs.get(job.id);
        if (finished.status === "failed") {
          throw new EaselError(
            finished.error?.code === "invalid_parameter" ? "invalid_parameter" : "internal_error",
            `job ${finished.id} failed: ${finished.error?.message ?? "unknown error"}`,
          );
        }
        if (finished.status === "canceled")
          throw new EaselError("conflict", `job ${finished.id} was canceled`);
        if (base64 && finished.images.some((i) => i.b64_json === undefined)) {
          return await call(() => trpc.jobs.get.query({ id: job.id }));
        }
        return finished;
      } catch (error) {
        // Aborted (before or while following the job): cancel it on the server before giving up,
        // so that an interrupted caller leaves nothing running.
        if (signal?.aborted) await jobs.cancel(job.id).catch(() => {});
        throw error;
      }
    },
  };
}

export type EaselClient = ReturnType<typeof createEaselClient>;
