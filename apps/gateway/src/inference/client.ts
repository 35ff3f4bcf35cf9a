import {
  type CreatePrediction,
  EaselError,
  type Prediction,
  type PredictionEvent,
  signRequest,
} from "@easel/schema";
import { CircuitBreaker } from "./breaker.ts";
import { parseSse } from "./sse.ts";

export interface Backend {
  id: string;
  url: string;
}

/** The gateway's view of the inference service (see apps/inference for the contract). */
export interface InferenceClient {
  /** Creates the prediction on the first backend that takes it; returns which one did. */
  submit(id: string, body: CreatePrediction): Promise<{ backend: string; prediction: Prediction }>;
  get(backend: string, id: string): Promise<Prediction>;
  cancel(backend: string, id: string): Promise<Prediction>;
  events(
    backend: string,
    id: string,
    signal: AbortSignal,
    lastEventId?: string,
  ): AsyncIterable<{ id: string | undefined; event: PredictionEvent }>;
  /** Bytes of a stored image through the backend (local stores have no presigned URLs). */
  file(backend: string, key: string): Promise<Uint8Array>;
  models(): Promise<InferenceModel[]>;
}

export interface InferenceModel {
  id: string;
  default_width: number;
  default_height: number;
  default_steps: number;
}

export interface HttpInferenceClientOptions {
  backends: readonly Backend[];
  secret: string;
  fetch?: typeof fetch;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Extra attempts per backend on connection errors, timeouts and 503. Default 2. */
  retries?: number;
  /** First backoff; doubles each retry, with jitter. Default 100 ms. */
  backoffMs?: number;
  failureThreshold?: number;
  cooldownMs?: number;
  /** How long a /health answer is trusted. Default 5 s. */
  healthTtlMs?: number;
  now?: () => number;
}

interface BackendState extends Backend {
  breaker: CircuitBreaker;
  health: { status: string; at: number } | null;
}

/** Failures worth retrying or failing over: the backend, not the request, is at fault. */
class TransientError extends Error {
  constructor(
    message: string,
    readonly kind: "timeout" | "unavailable",
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/**
 * Talks to one or more inference backends: HMAC-signed requests, per-attempt timeouts, retries
 * with exponential backoff on connection errors/timeouts/503, failover across backends for new
 * work, a circuit breaker per backend, and cached health checks to prefer READY backends.
 * Runtime-neutral (fetch + Web Crypto), so Workers and Node share it.
 *
 * @example
 * const inference = new HttpInferenceClient({ backends: [{ id: "a", url: "http://127.0.0.1:8081" }], secret });
 */
export class HttpInferenceClient implements InferenceClient {
  private readonly backends: BackendState[];
  private readonly fetch: typeof fetch;
  private readonly options: Required<
    Omit<HttpInferenceClientOptions, "fetch" | "backends" | "secret">
  >;
  private readonly secret: string;
  private next = 0;

  constructor({
    backends,
    secret,
    fetch: fetchImpl = (input, init) => fetch(input, init),
    timeoutMs = 10_000,
    retries = 2,
    backoffMs = 100,
    failureThreshold = 3,
    cooldownMs = 10_000,
    healthTtlMs = 5_000,
    now = Date.now,
  }: HttpInferenceClientOptions) {
    if (backends.length === 0)
      throw new TypeError("HttpInferenceClient: at least one backend is required");
    this.secret = secret;
    this.fetch = fetchImpl;
    this.options = {
      timeoutMs,
      retries,
      backoffMs,
      failureThreshold,
      cooldownMs,
      healthTtlMs,
      now,
    };
    this.backends = backends.map((b) => ({
      ...b,
      url: b.url.replace(/\/+$/, ""),
      breaker: new CircuitBreaker(failureThreshold, cooldownMs, now),
      health: null,
    }));
  }

  async submit(
    id: string,
    body: CreatePrediction,
  ): Promise<{ backend: string; prediction: Prediction }> {
    let last: TransientError | null = null;
    for (const backend of await this.candidates()) {
      if (!backend.breaker.allow()) continue;
      try {
        const prediction = (await this.withRetries(
          backend,
          "PUT",
          `/v1/predictions/${id}`,
          JSON.stringify(body),
        )) as Prediction;
        backend.breaker.success();
        return { backend: backend.id, prediction };
      } catch (error) {
        if (!(error instanceof TransientError)) {
          backend.breaker.success(); // the backend answered; the request was at fault
          throw error;
        }
        backend.breaker.failure();
        last = error;
      }
    }
    const detail = last ? ` (last: ${last.message})` : " (all circuits open)";
    if (last?.kind === "timeout") {
      throw new EaselError("backend_timeout", `no inference backend answered in time${detail}`, {
        retryAfter: 5,
      });
    }
    throw new EaselError("backend_unavailable", `no inference backend can take the work${detail}`, {
      retryAfter: last?.retryAfter ?? 5,
    });
  }

  async get(backend: string, id: string): Promise<Prediction> {
    return (await this.pinned(backend, "GET", `/v1/predictions/${id}`)) as Prediction;
  }

  async cancel(backend: string, id: string): Promise<Prediction> {
    return (await this.pinned(backend, "POST", `/v1/predictions/${id}/cancel`)) as Prediction;
  }

  async *events(backendId: string, id: string, signal: AbortSignal, lastEventId?: string) {
    const backend = this.byId(backendId);
    const path = `/v1/predictions/${id}/events`;
    const response = await this.fetch(`${backend.url}${path}`, {
      headers: {
        ...(await signRequest({ method: "GET", path, body: "", secret: this.secret })),
        accept: "text/event-stream",
        ...(lastEventId ? { "last-event-id": lastEventId } : {}),
      },
      signal,
    });
    if (!response.ok || !response.body) throw await this.errorOf(response, `GET ${path}`);
    for await (const message of parseSse(response.body)) {
      yield { id: message.id, event: JSON.parse(message.data) as PredictionEvent };
    }
  }

  async file(backendId: string, key: string): Promise<Uint8Array> {
    const backend = this.byId(backendId);
    const path = `/v1/files/${key}`;
    const response = await this.attempt(backend, "GET", path, "");
    return new Uint8Array(await response.arrayBuffer());
  }

  async models(): Promise<InferenceModel[]> {
    for (const backend of await this.candidates()) {
      try {
        const list = (await this.withRetries(backend, "GET", "/v1/models", "")) as {
          data: InferenceModel[];
        };
        return list.data;
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
      }
    }
    throw new EaselError("backend_unavailable", "no inference backend answered /v1/models", {
      retryAfter: 5,
    });
  }

  /** Backends to try for new work: READY ones first, round-robin among equals. */
  private async candidates(): Promise<BackendState[]> {
    await Promise.all(this.backends.map((b) => this.refreshHealth(b)));
    const start = this.next++ % this.backends.length;
    const rotated = [...this.backends.slice(start), ...this.backends.slice(0, start)];
    const rank = (b: BackendState) =>
      b.health?.status === "READY" ? 0 : b.health?.status === "BUSY" ? 1 : 2;
    return rotated.sort((a, b) => rank(a) - rank(b));
  }

  private async refreshHealth(backend: BackendState): Promise<void> {
    const now = this.options.now();
    if (backend.health && now - backend.health.at < this.options.healthTtlMs) return;
    try {
      const response = await this.fetch(`${backend.url}/health`, {
        signal: AbortSignal.timeout(2000),
      });
      const body = (await response.json()) as { status?: string };
      backend.health = { status: body.status ?? "UNKNOWN", at: now };
    } catch {
      backend.health = { status: "UNREACHABLE", at: now };
    }
  }

  /** A request for an existing prediction: it lives on one backend, so retries but no failover. */
  private async pinned(backendId: string, method: string, path: string): Promise<unknown> {
    const backend = this.byId(backendId);
    try {
      return await this.withRetries(backend, method, path, "");
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      const code = error.kind === "timeout" ? "backend_timeout" : "backend_unavailable";
      throw new EaselError(
        code,
        `inference backend ${backendId} is not answering: ${error.message}`,
        { retryAfter: 5 },
      );
    }
  }

  private async withRetries(
    backend: BackendState,
    method: string,
    path: string,
    body: string,
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.attempt(backend, method, path, body);
        return await response.json();
      } catch (error) {
        if (!(error instanceof TransientError) || attempt >= this.options.retries) throw error;
        const delay = this.options.backoffMs * 2 ** attempt * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async attempt(
    backend: BackendState,
    method: string,
    path: string,
    body: string,
  ): Promise<Response> {
    const headers: Record<string, string> = await signRequest({
      method,
      path,
      body,
      secret: this.secret,
    });
    if (body) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetch(`${backend.url}${path}`, {
        method,
        headers,
        ...(body ? { body } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new TransientError(
          `${method} ${backend.id}${path} timed out after ${this.options.timeoutMs} ms`,
          "timeout",
        );
      }
      throw new TransientError(
        `${method} ${backend.id}${path} failed: ${(error as Error).message}`,
        "unavailable",
      );
    }
    if (response.status === 503 || response.status === 502) {
      const retryAfter = Number(response.headers.get("retry-after")) || undefined;
      await response.body?.cancel();
      throw new TransientError(
        `${method} ${backend.id}${path} -> ${response.status}`,
        "unavailable",
        retryAfter,
      );
    }
    if (!response.ok) throw await this.errorOf(response, `${method} ${backend.id}${path}`);
    return response;
  }

  private async errorOf(response: Response, operation: string): Promise<EaselError> {
    const body = await response.json().catch(() => null);
    const error = EaselError.fromBody(body, response.status);
    // Signature failures are our misconfiguration, not the caller's: never leak them as 401.
    if (error.code === "invalid_signature" || error.code === "unauthorized") {
      return new EaselError(
        "internal_error",
        `${operation}: inference rejected the gateway's signature`,
      );
    }
    return error;
  }

  private byId(id: string): BackendState {
    const backend = this.backends.find((b) => b.id === id);
    if (!backend)
      throw new EaselError(
        "backend_unavailable",
        `inference backend ${id} is no longer configured`,
        { retryAfter: 5 },
      );
    return backend;
  }
}
