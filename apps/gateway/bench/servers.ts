/**
 * The two servers `gateway.bench.ts` compares, in one process of their own (so the load generator
 * does not share their event loop), on free ports of 127.0.0.1:
 *
 * - bare: a Hono app with nothing but `GET /v1/models` answering the same JSON;
 * - gateway: the real `createApp()` with its whole chain (request id, access log, CORS preflight
 *   guard, CORS, body limit, auth, rate limit, route), over a stub inference backend whose model
 *   list is canned, and the Node entry's choices: MemoryRateLimiter, the synchronous token hash,
 *   JSON logs written out (to /dev/null).
 *
 * Prints one line of JSON, `{"bare":port,"gateway":port,"token":"..."}`, when both listen.
 */
import { createWriteStream } from "node:fs";
import type { AddressInfo } from "node:net";
import type { CreatePrediction, Prediction } from "@easel/schema";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { createApp } from "../src/app.ts";
import type { InferenceClient, InferenceModel } from "../src/inference/client.ts";
import { MemoryJobStore } from "../src/jobs/memory-store.ts";
import { JobsService } from "../src/jobs/service.ts";
import { literalAddressPolicy } from "../src/jobs/webhooks.ts";
import { KeyStore, parseKeys } from "../src/keys/keys.ts";
import { createLogger } from "../src/logger.ts";
import { inferenceModels } from "../src/models.ts";
import { sha256HexSync } from "../src/node/token-hash.ts";
import { MemoryRateLimiter } from "../src/ratelimit/limiter.ts";

const TOKEN = "sk-bench-0123456789abcdef0123456789";
const MODELS: InferenceModel[] = [
  { id: "easel-shapes", default_width: 256, default_height: 256, default_steps: 25 },
];

/** A backend that only lists models; the benchmark never creates jobs. */
const stubInference: InferenceClient = {
  async models() {
    return MODELS;
  },
  async submit(_id: string, _body: CreatePrediction): Promise<never> {
    throw new Error("the benchmark backend creates no predictions");
  },
  async get(): Promise<Prediction> {
    throw new Error("the benchmark backend has no predictions");
  },
  async cancel(): Promise<Prediction> {
    throw new Error("the benchmark backend has no predictions");
  },
  async *events() {},
  async file(): Promise<Uint8Array> {
    throw new Error("the benchmark backend has no files");
  },
};

// Requests per window high enough that the limiter always admits, but it still runs in full.
const keys = await parseKeys(
  JSON.stringify([
    {
      id: "bench",
      name: "bench",
      token: TOKEN,
      limits: { requests: 10_000_000, windowSeconds: 60, concurrentJobs: 4 },
    },
  ]),
);
const sink = createWriteStream("/dev/null");
const logger = createLogger((line) => sink.write(`${line}\n`));
const models = inferenceModels(stubInference);
const gateway = createApp({
  keys: new KeyStore(keys, sha256HexSync),
  limiter: new MemoryRateLimiter(),
  jobs: new JobsService({
    store: new MemoryJobStore(),
    inference: stubInference,
    logger,
    concurrencyOf: () => 4,
    webhookSigner: null,
    webhookPolicy: literalAddressPolicy(false),
    publicUrl: "http://127.0.0.1",
  }),
  models,
  logger,
  corsOrigins: ["http://localhost:5173"],
});

const bare = new Hono();
bare.get("/v1/models", async (c) => c.json({ object: "list", data: await models.list() }));

const listen = (fetch: (request: Request) => Response | Promise<Response>) =>
  new Promise<number>((resolve) => {
    serve({ fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) => resolve(info.port));
  });

const [barePort, gatewayPort] = await Promise.all([listen(bare.fetch), listen(gateway.fetch)]);
process.stdout.write(`${JSON.stringify({ bare: barePort, gateway: gatewayPort, token: TOKEN })}\n`);
process.on("SIGTERM", () => process.exit(0));
