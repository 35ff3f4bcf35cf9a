import { type ErrorCode, type Prediction, SIGNATURE_HEADERS, signRequest } from "@easel/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RunningService,
  signedFetch,
  startService,
  TEST_SECRET,
} from "../src/testing/harness.ts";
import { fetchImages, modelUnderTest } from "./support.ts";

const model = modelUnderTest();

/** How a table row sends its request: signed normally unless it says otherwise. */
interface BadRequest {
  name: string;
  method: string;
  path: string;
  body?: string | Uint8Array;
  /** What is signed, where it differs from what is sent. */
  sign?: {
    method?: string;
    path?: string;
    body?: string;
    secret?: string;
    timestampOffsetS?: number;
    nonce?: string;
  };
  /** Headers to drop from or change in the signed set. */
  dropHeaders?: string[];
  headers?: Record<string, string>;
  unsigned?: boolean;
  status: number;
  code: ErrorCode;
  param?: string;
  /** What the message must say, where the reason matters (the limit, the operation). */
  message?: RegExp;
}

const json = (value: unknown) => JSON.stringify(value);
const create = (input: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  json({ input: { prompt: "a red circle", steps: 2, ...input }, ...extra });
const PUT_PATH = "/v1/predictions/bad-request";
const REPLAYED_NONCE = "replayed-nonce-0001";
const TINY_PNG_BASE64 = Buffer.from("not an image at all").toString("base64");

const TABLE: BadRequest[] = [
  // Signature: every failure is 401 invalid_signature, before the body is even parsed.
  {
    name: "no signature headers",
    method: "GET",
    path: "/v1/models",
    unsigned: true,
    status: 401,
    code: "invalid_signature",
    message: /missing/,
  },
  {
    name: "missing nonce header",
    method: "GET",
    path: "/v1/models",
    dropHeaders: [SIGNATURE_HEADERS.nonce],
    status: 401,
    code: "invalid_signature",
  },
  {
    name: "missing signature header",
    method: "GET",
    path: "/v1/models",
    dropHeaders: [SIGNATURE_HEADERS.signature],
    status: 401,
    code: "invalid_signature",
  },
  {
    name: "signed with another secret",
    method: "GET",
    path: "/v1/models",
    sign: { secret: "another-secret-0123456789" },
    status: 401,
    code: "invalid_signature",
    message: /mismatch/,
  },
  {
    name: "timestamp 301 s in the past",
    method: "GET",
    path: "/v1/models",
    sign: { timestampOffsetS: -301 },
    status: 401,
    code: "invalid_signature",
    message: /stale/,
  },
  {
    name: "timestamp 301 s in the future",
    method: "GET",
    path: "/v1/models",
    sign: { timestampOffsetS: 301 },
    status: 401,
    code: "invalid_signature",
    message: /stale/,
  },
  {
    name: "malformed signature value",
    method: "GET",
    path: "/v1/models",
    headers: { [SIGNATURE_HEADERS.signature]: "v1=not-hex" },
    status: 401,
    code: "invalid_signature",
  },
  {
    name: "non-numeric timestamp",
    method: "GET",
    path: "/v1/models",
    headers: { [SIGNATURE_HEADERS.timestamp]: "yesterday" },
    status: 401,
    code: "invalid_signature",
  },
  {
    name: "replayed nonce",
    method: "GET",
    path: "/v1/models",
    sign: { nonce: REPLAYED_NONCE },
    status: 401,
    code: "invalid_signature",
    message: /replayed/,
  },
  {
    name: "tampered body",
    method: "PUT",
    path: PUT_PATH,
    body: create({ steps: 3 }),
    sign: { body: create({ steps: 2 }) },
    status: 401,
    code: "invalid_signature",
    message: /mismatch/,
  },
  {
    name: "tampered path",
    method: "PUT",
    path: "/v1/predictions/other-id",
    body: create({}),
    sign: { path: PUT_PATH },
    status: 401,
    code: "invalid_signature",
  },
  {
    name: "tampered query string",
    method: "GET",
    path: "/v1/models?x=1",
    sign: { path: "/v1/models" },
    status: 401,
    code: "invalid_signature",
  },
  {
    name: "tampered method",
    method: "POST",
    path: "/v1/predictions/x/cancel",
    sign: { method: "GET" },
    status: 401,
    code: "invalid_signature",
  },
  // Body framing.
  {
    name: "malformed JSON",
    method: "PUT",
    path: PUT_PATH,
    body: '{"input": {"prompt": "a red',
    status: 400,
    code: "invalid_request",
  },
  {
    name: "empty body",
    method: "PUT",
    path: PUT_PATH,
    body: "",
    status: 400,
    code: "invalid_request",
  },
  {
    name: "non-UTF-8 body",
    method: "PUT",
    path: PUT_PATH,
    body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "body over 8 MiB",
    method: "PUT",
    path: PUT_PATH,
    body: create({ negative_prompt: "x".repeat(8 * 1024 * 1024) }),
    status: 413,
    code: "payload_too_large",
    message: /8388608/,
  },
  {
    name: "JSON array body",
    method: "PUT",
    path: PUT_PATH,
    body: "[1,2]",
    status: 400,
    code: "invalid_parameter",
    param: "(body)",
  },
  {
    name: "unknown top-level field",
    method: "PUT",
    path: PUT_PATH,
    body: create({}, { webhook: "http://x" }),
    status: 400,
    code: "invalid_parameter",
    param: "(body)",
  },
  {
    name: "unknown input field",
    method: "PUT",
    path: PUT_PATH,
    body: create({ sampler: "euler" }),
    status: 400,
    code: "invalid_parameter",
    param: "input",
  },
  // Prompt.
  {
    name: "missing prompt",
    method: "PUT",
    path: PUT_PATH,
    body: json({ input: { steps: 2 } }),
    status: 400,
    code: "invalid_parameter",
    param: "input.prompt",
  },
  {
    name: "empty prompt",
    method: "PUT",
    path: PUT_PATH,
    body: create({ prompt: "" }),
    status: 400,
    code: "invalid_parameter",
    param: "input.prompt",
  },
  {
    name: "whitespace-only prompt",
    method: "PUT",
    path: PUT_PATH,
    body: create({ prompt: " \t\n " }),
    status: 400,
    code: "invalid_parameter",
    param: "input.prompt",
  },
  {
    name: "control characters in the prompt",
    method: "PUT",
    path: PUT_PATH,
    body: create({ prompt: "a red\u0007 circle" }),
    status: 400,
    code: "invalid_parameter",
    param: "input.prompt",
  },
  {
    name: "prompt over 1000 characters",
    method: "PUT",
    path: PUT_PATH,
    body: create({ prompt: "a".repeat(1001) }),
    status: 400,
    code: "invalid_parameter",
    param: "input.prompt",
  },
  {
    name: "prompt over the model's token limit",
    method: "PUT",
    path: PUT_PATH,
    body: create({ prompt: Array.from({ length: 90 }, () => "red").join(" ") }),
    status: 400,
    code: "invalid_parameter",
    param: "input.prompt",
    message: /token/,
  },
  {
    name: "negative prompt over the token limit",
    method: "PUT",
    path: PUT_PATH,
    body: create({
      guidance_scale: 5,
      negative_prompt: Array.from({ length: 90 }, () => "blue").join(" "),
    }),
    status: 400,
    code: "invalid_parameter",
    param: "input.negative_prompt",
    message: /token/,
  },
  // Numbers.
  {
    name: "steps 0",
    method: "PUT",
    path: PUT_PATH,
    body: create({ steps: 0 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.steps",
  },
  {
    name: "steps 151",
    method: "PUT",
    path: PUT_PATH,
    body: create({ steps: 151 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.steps",
  },
  {
    name: "steps 2.5",
    method: "PUT",
    path: PUT_PATH,
    body: create({ steps: 2.5 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.steps",
  },
  {
    name: "steps as a string",
    method: "PUT",
    path: PUT_PATH,
    body: create({ steps: "4" }),
    status: 400,
    code: "invalid_parameter",
    param: "input.steps",
  },
  {
    name: "width not a multiple of the VAE factor (8)",
    method: "PUT",
    path: PUT_PATH,
    body: create({ width: 100 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.width",
    message: /multiple of 8/,
  },
  {
    name: "width over 1024",
    method: "PUT",
    path: PUT_PATH,
    body: create({ width: 1032 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.width",
  },
  {
    name: "height 0",
    method: "PUT",
    path: PUT_PATH,
    body: create({ height: 0 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.height",
  },
  {
    name: "guidance -1",
    method: "PUT",
    path: PUT_PATH,
    body: create({ guidance_scale: -1 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.guidance_scale",
  },
  {
    name: "guidance 31",
    method: "PUT",
    path: PUT_PATH,
    body: create({ guidance_scale: 31 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.guidance_scale",
  },
  {
    name: "unknown scheduler",
    method: "PUT",
    path: PUT_PATH,
    body: create({ scheduler: "k_lms_turbo" }),
    status: 400,
    code: "invalid_parameter",
    param: "input.scheduler",
  },
  {
    name: "seed -1",
    method: "PUT",
    path: PUT_PATH,
    body: create({ seed: -1 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.seed",
  },
  {
    name: "seed 2^32",
    method: "PUT",
    path: PUT_PATH,
    body: create({ seed: 2 ** 32 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.seed",
  },
  {
    name: "num_images 0",
    method: "PUT",
    path: PUT_PATH,
    body: create({ num_images: 0 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.num_images",
  },
  {
    name: "num_images 5",
    method: "PUT",
    path: PUT_PATH,
    body: create({ num_images: 5 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.num_images",
  },
  {
    name: "unknown output format",
    method: "PUT",
    path: PUT_PATH,
    body: create({ output_format: "gif" }),
    status: 400,
    code: "invalid_parameter",
    param: "input.output_format",
  },
  // Image-to-image.
  {
    name: "image that is not base64",
    method: "PUT",
    path: PUT_PATH,
    body: create({ image: "%%% not base64 %%%" }),
    status: 400,
    code: "invalid_parameter",
    param: "input.image",
    message: /base64/,
  },
  {
    name: "image that is base64 but not an image",
    method: "PUT",
    path: PUT_PATH,
    body: create({ image: TINY_PNG_BASE64 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.image",
    message: /could not be decoded/,
  },
  {
    name: "strength 0",
    method: "PUT",
    path: PUT_PATH,
    body: create({ strength: 0 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.strength",
  },
  {
    name: "strength 1.5",
    method: "PUT",
    path: PUT_PATH,
    body: create({ strength: 1.5 }),
    status: 400,
    code: "invalid_parameter",
    param: "input.strength",
  },
  // Ids, models and routes.
  {
    name: "id with characters outside [A-Za-z0-9_-]",
    method: "PUT",
    path: "/v1/predictions/bad.id!",
    body: create({}),
    status: 400,
    code: "invalid_parameter",
    param: "id",
  },
  {
    name: "id of 129 characters",
    method: "PUT",
    path: `/v1/predictions/${"a".repeat(129)}`,
    body: create({}),
    status: 400,
    code: "invalid_parameter",
    param: "id",
  },
  {
    name: "unknown model",
    method: "PUT",
    path: PUT_PATH,
    body: create({}, { model: "sd-99" }),
    status: 400,
    code: "invalid_parameter",
    param: "model",
    message: /sd-99/,
  },
  {
    name: "unknown route",
    method: "GET",
    path: "/v1/nothing-here",
    status: 404,
    code: "not_found",
  },
  {
    name: "wrong method on a prediction",
    method: "DELETE",
    path: "/v1/predictions/x",
    status: 405,
    code: "method_not_allowed",
  },
  {
    name: "GET on the cancel route",
    method: "GET",
    path: "/v1/predictions/x/cancel",
    status: 405,
    code: "method_not_allowed",
  },
  {
    name: "GET an unknown prediction",
    method: "GET",
    path: "/v1/predictions/never-created",
    status: 404,
    code: "not_found",
  },
  {
    name: "cancel an unknown prediction",
    method: "POST",
    path: "/v1/predictions/never-created/cancel",
    status: 404,
    code: "not_found",
  },
  {
    name: "events of an unknown prediction",
    method: "GET",
    path: "/v1/predictions/never-created/events",
    status: 404,
    code: "not_found",
  },
];

async function send(url: string, row: BadRequest): Promise<Response> {
  const body = row.body ?? "";
  if (row.unsigned) return await fetch(`${url}${row.path}`, { method: row.method });
  const signed = await signRequest({
    method: row.sign?.method ?? row.method,
    path: row.sign?.path ?? row.path,
    body: row.sign?.body ?? body,
    secret: row.sign?.secret ?? TEST_SECRET,
    timestamp: Math.floor(Date.now() / 1000) + (row.sign?.timestampOffsetS ?? 0),
    ...(row.sign?.nonce ? { nonce: row.sign.nonce } : {}),
  });
  const headers: Record<string, string> = { ...signed, ...row.headers };
  for (const name of row.dropHeaders ?? []) delete headers[name];
  if (row.body !== undefined) headers["content-type"] = "application/json";
  return await fetch(`${url}${row.path}`, {
    method: row.method,
    headers,
    ...(row.body === undefined ? {} : { body: row.body }),
  });
}

describe("the inference service process refuses bad, unsigned, replayed and malformed requests", () => {
  let service: RunningService;

  beforeAll(async () => {
    service = await startService(model.env);
    // The replayed row's nonce is used once, successfully, before the table runs.
    const first = await send(service.url, {
      name: "first use of the nonce",
      method: "GET",
      path: "/v1/models",
      sign: { nonce: REPLAYED_NONCE },
      status: 200,
      code: "not_found",
    });
    expect(first.status).toBe(200);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it("has at least 30 cases", () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(30);
  });

  it.each(TABLE)("$name -> $status $code", async (row) => {
    const response = await send(service.url, row);
    const body = (await response.json()) as {
      error: { code: string; message: string; param?: string; requestId?: string };
    };
    expect({ status: response.status, code: body.error.code }).toEqual({
      status: row.status,
      code: row.code,
    });
    if (row.param !== undefined) expect(body.error.param).toBe(row.param);
    if (row.message !== undefined) expect(body.error.message).toMatch(row.message);
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body.error.requestId).toBe(response.headers.get("x-request-id"));
    if (row.status === 405) expect(response.headers.get("allow")).toBeTruthy();
  });

  it("accepted none of them and answered none with a 5xx", async () => {
    expect((await signedFetch(service.url, "GET", PUT_PATH)).status).toBe(404);
    const statuses = service.stdout
      .map((line) => JSON.parse(line) as { msg: string; status?: number })
      .filter((line) => line.msg === "request")
      .map((line) => line.status ?? 0);
    expect(statuses.length).toBeGreaterThanOrEqual(TABLE.length);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(service.stdout.some((l) => l.includes("unhandled error"))).toBe(false);
  });

  it("keeps serving a good request afterwards, its image from the local store over /v1/files", async () => {
    const response = await signedFetch(
      service.url,
      "PUT",
      "/v1/predictions/good-after-bad",
      { input: { prompt: model.prompt, ...model.quick } },
      { headers: { prefer: "wait=60" } },
    );
    expect(response.status).toBe(200);
    const prediction = (await response.json()) as Prediction;
    // No S3 here: the local file store has no presigned URLs, so the service serves the file.
    expect(prediction.output?.images[0]?.url).toBe("/v1/files/predictions/good-after-bad/0.png");
    const [fetched] = await fetchImages(service.url, prediction);
    expect(fetched?.contentType).toBe("image/png");
    model.check(fetched!.image, model.prompt);
    const unsigned = await fetch(`${service.url}/v1/files/predictions/good-after-bad/0.png`);
    expect(unsigned.status).toBe(401);
  });
});
