import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { decodeImage, type RgbImage, readServingDefaults } from "@easel/pipeline";
import type { GenerationInput, Prediction } from "@easel/schema";
import { evaluate, parsePrompt } from "@easel/shapes";
import { findMotoServer, startS3TestServer } from "@easel/storage/testing";
import { signedFetch } from "../src/testing/harness.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const SHAPES_DIR = resolve(REPO_ROOT, "packages/shapes/artifacts/model");
const FIXTURE_DIR = resolve(REPO_ROOT, "packages/pipeline/fixtures/tiny-sd");

/**
 * The model the process tests run: the embedded Shapes model when its artifacts exist (then the
 * stored image must show the prompt), else the random tiny fixture (then it must only decode).
 */
export interface ModelUnderTest {
  name: string;
  /** Environment that makes the service serve this model. */
  env: Record<string, string>;
  /** A prompt the model can draw, and the fast settings the tests use for it. */
  prompt: string;
  quick: Partial<GenerationInput>;
  /** Settings that keep a prediction running for a while (cancel, crash and drain tests). */
  slow: Partial<GenerationInput>;
  /** The VAE downscale factor, from the model's vae_decoder/config.json (2^(blocks - 1)). */
  sizeMultiple: number;
  /** Throws unless `image` is a plausible answer to `prompt`. */
  check(image: RgbImage, prompt: string): void;
}

export function modelUnderTest(): ModelUnderTest {
  if (existsSync(resolve(SHAPES_DIR, "model_index.json"))) {
    const defaults = readServingDefaults(SHAPES_DIR);
    return {
      name: "easel-shapes",
      sizeMultiple: vaeFactor(SHAPES_DIR),
      env: { EASEL_MODELS: `easel-shapes=${SHAPES_DIR}` },
      prompt: "a big red circle",
      quick: { steps: defaults.default_steps ?? 20, seed: 7 },
      // The default size: the crash and drain tests check the evaluator on these images too.
      slow: { steps: 150, seed: 7 },
      check(image, prompt) {
        const verdict = evaluate(image, parsePrompt(prompt));
        if (!verdict.correct) {
          throw new Error(
            `the image does not show "${prompt}": ${JSON.stringify(verdict.attributes)}, found ${JSON.stringify(
              verdict.found.map((o) => `${o.size} ${o.colour} ${o.shape}`),
            )}`,
          );
        }
      },
    };
  }
  console.warn(
    "packages/shapes/artifacts/model is absent: the process tests use the random tiny-sd fixture and only check that images decode",
  );
  return {
    name: "tiny",
    sizeMultiple: vaeFactor(FIXTURE_DIR),
    env: { EASEL_MODELS: `tiny=${FIXTURE_DIR}` },
    prompt: "a big red circle",
    quick: { steps: 4, scheduler: "euler", seed: 7 },
    slow: { steps: 150, width: 128, height: 128, scheduler: "euler", seed: 7 },
    check(image) {
      if (image.data.length !== image.width * image.height * 3)
        throw new Error("decoded image has the wrong size");
    },
  };
}

/** Where the service under test stores images, and the environment that points it there. */
export interface TestImageStore {
  kind: "s3" | "fs";
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * A real S3-compatible server (moto) with a fresh bucket, created with the AWS SDK as a user would.
 * Without moto installed (scripts/test.sh installs it), the service's local file store stands in,
 * with a warning, so that the rest of the contract is still tested.
 */
export async function startImageStore(bucket = "easel-test"): Promise<TestImageStore> {
  if (findMotoServer() === null) {
    console.warn("moto_server is not installed: images go to the local file store instead of S3");
    return { kind: "fs", env: {}, stop: async () => {} };
  }
  const server = await startS3TestServer();
  const credentials = { accessKeyId: "test-access-key", secretAccessKey: "test-secret-key" };
  const client = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials,
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return {
    kind: "s3",
    env: {
      EASEL_S3_BUCKET: bucket,
      EASEL_S3_ENDPOINT: server.endpoint,
      EASEL_S3_FORCE_PATH_STYLE: "1",
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    stop: () => server.stop(),
  };
}

/**
 * Fetches every image of a finished prediction through the URL in it (presigned for S3, the
 * service's signed /v1/files route for local files) and decodes it.
 */
export async function fetchImages(
  serviceUrl: string,
  prediction: Prediction,
): Promise<{ image: RgbImage; bytes: Uint8Array; contentType: string | null; format: string }[]> {
  const images = prediction.output?.images ?? [];
  if (images.length === 0) throw new Error(`prediction ${prediction.id} has no images`);
  return await Promise.all(
    images.map(async (stored) => {
      if (!stored.url) throw new Error(`image ${stored.key} has no URL`);
      const response = stored.url.startsWith("/")
        ? await signedFetch(serviceUrl, "GET", stored.url)
        : await fetch(stored.url);
      if (!response.ok) throw new Error(`GET ${stored.url} -> ${response.status}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const decoded = decodeImage(bytes);
      return {
        image: { width: decoded.width, height: decoded.height, data: decoded.data },
        bytes,
        contentType: response.headers.get("content-type"),
        format: decoded.format,
      };
    }),
  );
}

/** GETs a prediction until it is terminal (or `timeoutMs` passes). */
export async function pollUntilDone(
  url: string,
  id: string,
  timeoutMs = 60_000,
): Promise<Prediction> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await signedFetch(url, "GET", `/v1/predictions/${id}`);
    if (response.status !== 200) throw new Error(`GET ${id} -> ${response.status}`);
    const prediction = (await response.json()) as Prediction;
    if (["succeeded", "failed", "canceled"].includes(prediction.status)) return prediction;
    if (Date.now() > deadline)
      throw new Error(`prediction ${id} still ${prediction.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Reads a server-sent event stream from a fetch response, calling `onEvent` for each event; stops
 * when the stream ends or `onEvent` returns true (then the connection is dropped).
 */
export async function readSse(
  response: Response,
  onEvent: (event: SseEvent) => boolean,
): Promise<SseEvent[]> {
  if (!response.body) throw new Error("no response body");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const seen: SseEvent[] = [];
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return seen;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { id: undefined, event: "message", data: "" };
        let isEvent = false;
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue; // comment (keep-alive)
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "id") event.id = text;
          else if (field === "event") event.event = text;
          else if (field === "data") event.data = event.data ? `${event.data}\n${text}` : text;
          else continue;
          isEvent = true;
        }
        if (!isEvent) continue;
        seen.push(event);
        if (onEvent(event) === true) return seen;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Parses Prometheus text into `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

function vaeFactor(dir: string): number {
  const config = JSON.parse(readFileSync(resolve(dir, "vae_decoder/config.json"), "utf8")) as {
    block_out_channels: number[];
  };
  return 2 ** (config.block_out_channels.length - 1);
}
