import {
  type ApiKeyInfo,
  appRouter,
  type JobsApi,
  type ModelsApi,
  trpcErrorEnvelope,
} from "@easel/api";
import { EaselError, ERROR_STATUS, LIMITS } from "@easel/schema";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { Hono } from "hono";
import type { KeyStore } from "./keys/keys.ts";
import type { Logger } from "./logger.ts";
import { type AuthVariables, auth } from "./middleware/auth/index.ts";
import { bodyLimit } from "./middleware/body-limit/index.ts";
import { cors } from "./middleware/cors/index.ts";
import { rateLimit } from "./middleware/rate-limit/index.ts";
import { type RequestIdVariables, requestId } from "./middleware/request-id/index.ts";
import type { RateLimiter } from "./ratelimit/limiter.ts";
import { methodNotAllowed } from "./routes/method-not-allowed.ts";
import { openAiRoutes } from "./routes/openai.ts";
import { openApiDocument } from "./routes/openapi.ts";

/** Jobs as the routes need them: the tRPC API plus raw image bytes for the file route. */
export interface GatewayJobs extends JobsApi {
  file(key: ApiKeyInfo, id: string, index: number): Promise<{ bytes: Uint8Array; format: string }>;
}

export interface GatewayDeps {
  keys: KeyStore;
  limiter: RateLimiter;
  jobs: GatewayJobs;
  models: ModelsApi;
  logger: Logger;
  /** Origins allowed to call the API from a browser; `["*"]` for any. Default: none. */
  corsOrigins?: readonly string[];
  /** Longest wait of `POST /v1/images/generations`, in seconds. Default 120. */
  generateWaitS?: number;
}

export type GatewayEnv = { Variables: RequestIdVariables & AuthVariables };

/**
 * The gateway: one runtime-neutral Hono app. The entries (entry.node.ts, entry.worker.ts) build
 * `deps` for their runtime and nothing else.
 *
 * @example
 * const app = createApp({ keys, limiter: new MemoryRateLimiter(), jobs, models, logger });
 * const response = await app.request("/v1/models", { headers: { authorization: `Bearer ${token}` } });
 */
export function createApp(deps: GatewayDeps): Hono<GatewayEnv> {
  const { keys, limiter, logger, corsOrigins = [], generateWaitS = 120 } = deps;
  const app = new Hono<GatewayEnv>();

  app.use(requestId());
  app.use(async function accessLog(c, next) {
    const started = Date.now();
    await next();
    logger.info("request", {
      requestId: c.var.requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      keyId: c.var.apiKey?.id,
      ms: Date.now() - started,
    });
  });
  app.use(
    cors({
      origins: corsOrigins,
      allowHeaders: [
        "authorization",
        "content-type",
        "idempotency-key",
        "last-event-id",
        "trpc-accept",
        "x-request-id",
      ],
      exposeHeaders: ["ratelimit", "ratelimit-policy", "retry-after", "x-request-id"],
      maxAgeSeconds: 600,
    }),
  );
  app.use(bodyLimit({ maxBytes: LIMITS.bodyMaxBytes }));

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)));
  app.all("/health", methodNotAllowed("GET, HEAD"));
  app.all("/openapi.json", methodNotAllowed("GET, HEAD"));

  const authed = [auth({ keys }), rateLimit({ limiter })] as const;
  app.use("/v1/*", ...authed);
  app.use("/trpc/*", ...authed);

  app.route("/v1", openAiRoutes({ jobs: deps.jobs, models: deps.models, generateWaitS }));

  app.all("/trpc/*", async (c) => {
    const response = await fetchRequestHandler({
      endpoint: "/trpc",
      req: c.req.raw,
      router: appRouter,
      createContext: () => ({
        requestId: c.var.requestId,
        key: { id: c.var.apiKey.id, name: c.var.apiKey.name },
        idempotencyKey: c.req.header("idempotency-key"),
        jobs: deps.jobs,
        models: deps.models,
      }),
      responseMeta({ errors }) {
        const easel = errors[0]?.cause;
        if (!(easel instanceof EaselError)) return {};
        const headers = new Headers();
        if (easel.retryAfter !== undefined) headers.set("retry-after", String(easel.retryAfter));
        return { status: easel.status, headers };
      },
      onError({ error }) {
        if (!(error.cause instanceof EaselError)) {
          logger.error("trpc error", { requestId: c.var.requestId, error: error.message });
        }
      },
    });
    // Through c.newResponse, so the headers the middleware set (request id, rate limits, CORS)
    // reach tRPC's own Response too.
    return c.newResponse(response.body, response);
  });

  app.notFound(() => {
    throw new EaselError("not_found", "no such route");
  });

  app.onError((error, c) => {
    const requestId = c.var.requestId;
    const easel =
      error instanceof EaselError
        ? error
        : new EaselError("internal_error", "internal error", { cause: error });
    if (easel.code === "internal_error")
      logger.error("unhandled error", { requestId, error: String(error) });
    if (easel.retryAfter !== undefined) c.header("retry-after", String(easel.retryAfter));
    const status = ERROR_STATUS[easel.code] as 400;
    if (c.req.path.startsWith("/trpc/")) {
      return c.json(trpcErrorEnvelope(easel, requestId, c.req.path.slice("/trpc/".length)), status);
    }
    return c.json(easel.toBody(requestId), status);
  });

  return app;
}
