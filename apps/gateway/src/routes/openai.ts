import type { ModelsApi } from "@easel/api";
import {
  EaselError,
  generationInputSchema,
  openAiImageRequestSchema,
  parseOrThrow,
} from "@easel/schema";
import { Hono } from "hono";
import type { GatewayEnv, GatewayJobs } from "../app.ts";
import { toBase64 } from "../base64.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";

const CONTENT_TYPES: Record<string, string> = {
  png: "image/png",
  webp: "image/webp",
  jpeg: "image/jpeg",
};

/**
 * OpenAI-compatible REST: `POST /images/generations` and `GET /models`, with OpenAI's response and
 * error shapes (our error body carries OpenAI's `type`, `message`, `param` and `code`), plus the
 * file route that serves images of local stores.
 */
export function openAiRoutes({
  jobs,
  models,
  generateWaitS,
}: {
  jobs: GatewayJobs;
  models: ModelsApi;
  generateWaitS: number;
}) {
  const app = new Hono<GatewayEnv>();

  app.post("/images/generations", async (c) => {
    const key = c.var.apiKey;
    const body = parseOrThrow(openAiImageRequestSchema, await readJson(c.req.raw));
    const [width, height] = body.size ? body.size.split("x").map(Number) : [undefined, undefined];
    const input = parseSized(generationInputSchema, {
      prompt: body.prompt,
      negative_prompt: body.negative_prompt,
      width,
      height,
      steps: body.steps,
      guidance_scale: body.guidance_scale,
      seed: body.seed,
      scheduler: body.scheduler,
      num_images: body.n,
    });
    const idempotencyKey = c.req.header("idempotency-key");
    const job = await jobs
      .create(
        { id: key.id, name: key.name },
        { ...(body.model === undefined ? {} : { model: body.model }), input },
        idempotencyKey === undefined ? {} : { idempotencyKey },
      )
      .catch((error: unknown) => {
        throw asOpenAiParam(error);
      });
    const done = await jobs.waitFor(
      { id: key.id, name: key.name },
      job.id,
      generateWaitS * 1000,
      c.req.raw.signal,
    );
    if (done.status === "queued" || done.status === "processing") {
      throw new EaselError(
        "backend_timeout",
        `job ${done.id} did not finish within ${generateWaitS} s; poll it with jobs.get`,
        {
          retryAfter: 5,
        },
      );
    }
    if (done.status !== "succeeded") {
      const code =
        done.error?.code === "invalid_parameter" ? "invalid_parameter" : "internal_error";
      throw new EaselError(
        code,
        `job ${done.id} ${done.status}: ${done.error?.message ?? "canceled"}`,
      );
    }
    const asBase64 = body.response_format === "b64_json";
    const data = await Promise.all(
      done.images.map(async (image, index) => {
        if (!asBase64) return { url: image.url };
        const { bytes } = await jobs.file({ id: key.id, name: key.name }, done.id, index);
        return { b64_json: toBase64(bytes) };
      }),
    );
    c.header("x-easel-job-id", done.id);
    return c.json({ created: Math.floor(Date.parse(done.created_at) / 1000), data });
  });

  app.get("/models", async (c) => c.json({ object: "list", data: await models.list() }));

  app.get("/files/:id/:index", async (c) => {
    const index = Number(c.req.param("index"));
    if (!Number.isInteger(index) || index < 0 || index > 63) {
      throw new EaselError("invalid_parameter", "index must be an integer in [0, 63]", {
        param: "index",
      });
    }
    const key = c.var.apiKey;
    const { bytes, format } = await jobs.file(
      { id: key.id, name: key.name },
      c.req.param("id"),
      index,
    );
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": CONTENT_TYPES[format] ?? "application/octet-stream",
      "cache-control": "private, max-age=3600",
    });
  });

  app.all("/images/generations", methodNotAllowed("POST"));
  app.all("/models", methodNotAllowed("GET, HEAD"));
  app.all("/files/:id/:index", methodNotAllowed("GET, HEAD"));

  return app;
}

/** Parses the derived job input; width and height errors name OpenAI's `size`, which they came from. */
function parseSized(schema: typeof generationInputSchema, value: unknown) {
  try {
    return parseOrThrow(schema, value);
  } catch (error) {
    if (error instanceof EaselError && (error.param === "width" || error.param === "height")) {
      throw new EaselError(error.code, error.message.replace(/^(width|height)/, "size: $1"), {
        param: "size",
      });
    }
    throw error;
  }
}

/** Inference names fields as in our job input (`input.num_images`); this route's are OpenAI's (`n`). */
const OPENAI_PARAMS: Record<string, string> = {
  "input.num_images": "n",
  "input.width": "size",
  "input.height": "size",
};

function asOpenAiParam(error: unknown): unknown {
  if (!(error instanceof EaselError) || !error.param?.startsWith("input.")) return error;
  const param = OPENAI_PARAMS[error.param] ?? error.param.slice("input.".length);
  return new EaselError(error.code, error.message, {
    param,
    ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
    cause: error,
  });
}

async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new EaselError("unsupported_media_type", "Content-Type must be application/json");
  }
  try {
    return await request.json();
  } catch {
    throw new EaselError("invalid_request", "request body must be valid JSON");
  }
}
