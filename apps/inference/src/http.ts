import {
  canonicalJson,
  createPredictionSchema,
  EaselError,
  ERROR_STATUS,
  LIMITS,
  parseOrThrow,
  predictionIdSchema,
  sha256Hex,
  TERMINAL_STATUSES,
} from "@easel/schema";
import type { ObjectStore } from "@easel/storage";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { requireSignature } from "./auth.ts";
import type { EventHub, LoggedEvent } from "./events.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { ModelRegistry } from "./models.ts";
import type { PredictionService } from "./service.ts";

export interface HttpDeps {
  service: PredictionService;
  models: ModelRegistry;
  events: EventHub;
  metrics: Metrics;
  store: ObjectStore;
  logger: Logger;
  secret: string;
  queueCapacity: number;
  /** Longest `Prefer: wait=N` honoured, in seconds. */
  maxWaitS?: number;
}

type Env = { Variables: { requestId: string; rawBody: Uint8Array; errorCode: string } };

const PROBE_PATHS = ["/health", "/metrics"];
const predictionPathSchema = z.object({ id: predictionIdSchema });

/** The inference service's HTTP API (a Cog/RunPod-style prediction contract). */
export function createHttpApp(deps: HttpDeps): Hono<Env> {
  const { service, models, events, metrics, store, logger, maxWaitS = 60 } = deps;
  const app = new Hono<Env>();

  app.use(async function requestId(c, next) {
    const incoming = c.req.header("x-request-id");
    const id =
      incoming && /^[A-Za-z0-9_.:-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    c.header("x-request-id", id);
    const started = performance.now();
    await next();
    // Probes and scrapes arrive every few seconds: logging them would drown the requests that matter.
    if (PROBE_PATHS.includes(c.req.path) && c.req.method === "GET") return;
    const errorCode = c.get("errorCode");
    logger.info("request", {
      requestId: id,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
      ...(errorCode ? { error: errorCode } : {}),
    });
  });
  app.use(
    bodyLimit({
      maxSize: LIMITS.bodyMaxBytes,
      onError: () => {
        throw new EaselError(
          "payload_too_large",
          `request body must be <= ${LIMITS.bodyMaxBytes} bytes`,
        );
      },
    }),
  );
  app.use(requireSignature({ secret: deps.secret, publicPaths: PROBE_PATHS }));

  app.get("/health", (c) => {
    const status = models.status;
    if (status.state === "FAILED") return c.json({ status: "FAILED", error: status.error }, 503);
    // Models loaded but the journal not replayed yet is still STARTING (not STOPPING).
    if (status.state === "STARTING" || service.phase === "starting")
      return c.json({ status: "STARTING" }, 503);
    const details = {
      queue_depth: service.queueDepth,
      in_flight: service.inFlight,
      queue_capacity: deps.queueCapacity,
    };
    if (service.phase === "stopping") return c.json({ status: "STOPPING", ...details }, 503);
    const busy = service.queueDepth >= deps.queueCapacity;
    return c.json({ status: busy ? "BUSY" : "READY", ...details }, 200);
  });

  app.get("/metrics", (c) =>
    c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: models.list().map(({ info }) => ({
        id: info.name,
        object: "model",
        default_width: info.defaultWidth,
        default_height: info.defaultHeight,
        default_steps: info.defaultSteps,
        default_guidance_scale: info.defaultGuidance,
        default_scheduler: info.defaultScheduler,
        size_multiple: info.sizeMultiple,
        image_to_image: info.supportsImageToImage,
      })),
    }),
  );

  app.put("/v1/predictions/:id", async (c) => {
    const { id } = parseOrThrow(predictionPathSchema, { id: c.req.param("id") });
    const raw = c.get("rawBody");
    const body = parseOrThrow(createPredictionSchema, parseJson(raw));
    const hash = await sha256Hex(canonicalJson(body));
    const { prediction, created } = await service.create(id, body, hash, {
      requestId: c.get("requestId"),
    });
    const wait = preferWait(c.req.header("prefer"), maxWaitS);
    const current =
      wait > 0 ? ((await service.waitFor(id, wait * 1000)) ?? prediction) : prediction;
    if (wait > 0) c.header("preference-applied", `wait=${wait}`);
    c.header("location", `/v1/predictions/${id}`);
    // 200 with the finished prediction, else 202 with its current state (new or known).
    c.header("x-easel-created", created ? "1" : "0");
    return c.json(current, TERMINAL_STATUSES.includes(current.status) ? 200 : 202);
  });

  app.get("/v1/predictions/:id", (c) => c.json(mustGet(c.req.param("id"))));

  app.post("/v1/predictions/:id/cancel", async (c) =>
    c.json(await service.cancel(c.req.param("id"), { requestId: c.get("requestId") })),
  );

  app.get("/v1/predictions/:id/events", (c) => {
    const id = c.req.param("id");
    const prediction = mustGet(id);
    const lastEventId = Number(c.req.header("last-event-id") ?? 0) || 0;
    return streamSSE(c, async (stream) => {
      let finished = false;
      let wake: () => void = () => {};
      const pending: { id: number; type: string; data: string }[] = [];
      const push = (entry: LoggedEvent) => {
        pending.push({ id: entry.id, type: entry.event.type, data: JSON.stringify(entry.event) });
        if (["succeeded", "failed", "canceled"].includes(entry.event.type)) finished = true;
        wake();
      };
      const unsubscribe = events.subscribe(id, push);
      stream.onAbort(() => {
        finished = true;
        wake();
      });
      for (const entry of events.history(id, lastEventId)) push(entry);
      if (!finished && TERMINAL_STATUSES.includes(prediction.status)) {
        const log = events.history(id);
        if (log.length === 0) {
          // The history was forgotten (or the service restarted): the terminal event stands in for it.
          const type = prediction.status as "succeeded" | "failed" | "canceled";
          push({ id: lastEventId + 1, event: { type, prediction } });
        } else {
          // The client already has the terminal event (Last-Event-ID at or past it): nothing to send.
          finished = true;
        }
      }
      try {
        for (;;) {
          while (pending.length > 0) {
            const next = pending.shift()!;
            await stream.writeSSE({ id: String(next.id), event: next.type, data: next.data });
          }
          if (finished) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 15_000).unref();
          });
          if (pending.length === 0 && !finished) await stream.write(": keep-alive\n\n");
        }
      } finally {
        unsubscribe();
      }
    });
  });

  app.get("/v1/files/*", async (c) => {
    const key = c.req.path.slice("/v1/files/".length);
    const object = await store.get(key).catch((error) => {
      throw new EaselError("not_found", `file ${key} not found`, { cause: error });
    });
    if (!object) throw new EaselError("not_found", `file ${key} not found`);
    return c.body(object.body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": object.contentType,
    });
  });

  // Known paths with another method are 405 with Allow, so a client can tell a typo from a bad verb.
  const allow = (methods: string) =>
    function methodNotAllowed(c: Context<Env>): never {
      c.header("allow", methods);
      throw new EaselError("method_not_allowed", `${c.req.method} ${c.req.path}: use ${methods}`);
    };
  app.all("/health", allow("GET"));
  app.all("/metrics", allow("GET"));
  app.all("/v1/models", allow("GET"));
  app.all("/v1/predictions/:id", allow("GET, PUT"));
  app.all("/v1/predictions/:id/cancel", allow("POST"));
  app.all("/v1/predictions/:id/events", allow("GET"));

  app.notFound((c) => {
    throw new EaselError("not_found", `no route for ${c.req.method} ${c.req.path}`);
  });

  app.onError((error, c) => {
    const requestId = c.get("requestId");
    if (error instanceof EaselError) {
      c.set("errorCode", error.code);
      metrics.errors.inc({ code: error.code });
      if (error.retryAfter !== undefined) c.header("retry-after", String(error.retryAfter));
      return c.json(error.toBody(requestId), error.status as 400);
    }
    c.set("errorCode", "internal_error");
    logger.error("unhandled error", { requestId, error: (error as Error).message });
    metrics.errors.inc({ code: "internal_error" });
    return c.json(
      { error: { code: "internal_error", message: "internal error", requestId } },
      ERROR_STATUS.internal_error,
    );
  });

  function mustGet(id: string) {
    const prediction = service.get(id);
    if (!prediction) throw new EaselError("not_found", `prediction ${id} not found`);
    return prediction;
  }

  return app;
}

function parseJson(raw: Uint8Array | undefined): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw ?? new Uint8Array()));
  } catch {
    throw new EaselError("invalid_request", "request body must be valid UTF-8 JSON");
  }
}

/** `Prefer: wait=N` (RFC 7240), clamped to [0, max]. */
function preferWait(header: string | undefined, max: number): number {
  const match = /(?:^|[,;\s])wait=(\d+)/.exec(header ?? "");
  return match?.[1] ? Math.min(Number(match[1]), max) : 0;
}
