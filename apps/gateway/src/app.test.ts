import { describe, expect, it } from "vitest";
import { createApp } from "./app.ts";
import { MemoryJobStore } from "./jobs/memory-store.ts";
import { JobsService } from "./jobs/service.ts";
import { literalAddressPolicy, standardWebhookSigner } from "./jobs/webhooks.ts";
import { KeyStore, parseKeys } from "./keys/keys.ts";
import { silentLogger } from "./logger.ts";
import { inferenceModels } from "./models.ts";
import { MemoryRateLimiter } from "./ratelimit/limiter.ts";
import { FakeInference } from "./testing/fake-inference.ts";

const TOKEN = "sk-test-0123456789abcdef";
const OTHER = "sk-other-0123456789abcdef";

async function setup({ requests = 100, concurrentJobs = 4, completeAfterMs = 0 } = {}) {
  const keys = await parseKeys(
    JSON.stringify([
      {
        id: "k1",
        name: "tests",
        token: TOKEN,
        limits: { requests, windowSeconds: 60, concurrentJobs },
      },
      { id: "k2", name: "other", token: OTHER },
    ]),
  );
  const inference = new FakeInference(completeAfterMs);
  const jobs = new JobsService({
    store: new MemoryJobStore(),
    inference,
    logger: silentLogger,
    concurrencyOf: (id) => keys.find((k) => k.id === id)?.limits.concurrentJobs ?? 1,
    webhookSigner: standardWebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    webhookPolicy: literalAddressPolicy(false),
    publicUrl: "http://gateway.test",
  });
  const app = createApp({
    keys: new KeyStore(keys),
    limiter: new MemoryRateLimiter(),
    jobs,
    models: inferenceModels(inference),
    logger: silentLogger,
    corsOrigins: ["http://localhost:5173"],
    generateWaitS: 5,
  });
  return { app, inference, jobs };
}

const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const jsonHeaders = (token = TOKEN) => ({ ...auth(token), "content-type": "application/json" });
const post = (body: unknown, token = TOKEN, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { ...jsonHeaders(token), ...headers },
  body: JSON.stringify(body),
});

describe("gateway app", () => {
  it("answers 401 with a Bearer challenge when the key is missing or unknown", async () => {
    const { app } = await setup();
    const missing = await app.request("/v1/models");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    expect((await missing.json()).error).toMatchObject({
      code: "unauthorized",
      type: "authentication_error",
    });
    const forged = await app.request("/v1/models", { headers: auth("sk-forged-0123456789abcdef") });
    expect(forged.status).toBe(401);
    expect((await forged.json()).error.message).toBe("invalid API key");
  });

  it("lists models in OpenAI's shape with rate-limit headers", async () => {
    const { app } = await setup({ requests: 10 });
    const response = await app.request("/v1/models", { headers: auth() });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      object: "list",
      data: [{ id: "easel-shapes", object: "model" }],
    });
    expect(response.headers.get("ratelimit-policy")).toBe('"default";q=10;w=60');
    expect(response.headers.get("ratelimit")).toMatch(/^"default";r=9;t=\d+$/);
  });

  it("returns 429 with Retry-After when the key's bucket is empty", async () => {
    const { app } = await setup({ requests: 2 });
    await app.request("/v1/models", { headers: auth() });
    await app.request("/v1/models", { headers: auth() });
    const limited = await app.request("/v1/models", { headers: auth() });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("ratelimit")).toMatch(/r=0/);
    expect((await limited.json()).error).toMatchObject({
      code: "rate_limited",
      type: "rate_limit_error",
    });
    expect((await app.request("/v1/models", { headers: auth(OTHER) })).status).toBe(200);
  });

  it("generates images through the OpenAI route with url and b64_json", async () => {
    const { app } = await setup();
    const urls = await app.request(
      "/v1/images/generations",
      post({ prompt: "a red circle", n: 2, size: "64x64" }),
    );
    expect(urls.status).toBe(200);
    const body = await urls.json();
    expect(body.data).toHaveLength(2);
    expect(body.data[0].url).toMatch(/^http:\/\/gateway\.test\/v1\/files\/job_\w+\/0$/);
    const b64 = await app.request(
      "/v1/images/generations",
      post({ prompt: "a red circle", response_format: "b64_json" }),
    );
    expect((await b64.json()).data[0].b64_json).toBe("iVBORw==");
  });

  it.each([
    [{ prompt: "" }, "prompt", /^prompt must not be empty$/],
    [{ prompt: "x", n: 9 }, "n", /n must be <= 4, got 9/],
    [{ prompt: "x", size: "big" }, "size", /size must be WIDTHxHEIGHT/],
    [{ prompt: "x", size: "100x64" }, "size", /^size: width must be a multiple of 8, got 100$/],
    [{ prompt: "x", steps: 1000 }, "steps", /steps must be <= 150, got 1000/],
    [{ prompt: "x", extra: 1 }, "(body)", /unknown field: extra/],
  ])("rejects %j naming %s", async (body, param, message) => {
    const { app } = await setup();
    const response = await app.request("/v1/images/generations", post(body));
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error).toMatchObject({
      code: "invalid_parameter",
      type: "invalid_request_error",
      param,
    });
    expect(error.message).toMatch(message);
  });

  it("rejects bodies over the limit with 413 and non-JSON with 415", async () => {
    const { app } = await setup();
    const huge = await app.request("/v1/images/generations", {
      method: "POST",
      headers: { ...jsonHeaders(), "content-length": String(20 * 1024 * 1024) },
      body: "x".repeat(20 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
    const text = await app.request("/v1/images/generations", {
      method: "POST",
      headers: auth(),
      body: "prompt=x",
    });
    expect(text.status).toBe(415);
  });

  it("serves an OpenAPI document generated from the schemas without auth", async () => {
    const { app } = await setup();
    const doc = await (await app.request("/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/v1/images/generations"].post).toBeDefined();
    expect(doc.components.schemas.ImageGenerationRequest.properties.prompt.maxLength).toBe(1000);
  });

  it("answers CORS preflights for configured origins only", async () => {
    const { app } = await setup();
    const allowed = await app.request("/trpc/models.list", {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173", "access-control-request-method": "GET" },
    });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const other = await app.request("/trpc/models.list", {
      method: "OPTIONS",
      headers: { origin: "http://evil.test", "access-control-request-method": "GET" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("jobs through tRPC", () => {
  const create = (input: unknown, headers: Record<string, string> = {}, token = TOKEN) => ({
    method: "POST",
    headers: { ...jsonHeaders(token), ...headers },
    body: JSON.stringify(input),
  });

  it("creates a job and reads it back; other keys cannot see it", async () => {
    const { app } = await setup();
    const created = await app.request(
      "/trpc/jobs.create",
      create({ input: { prompt: "a red circle" } }),
    );
    expect(created.status).toBe(200);
    const job = (await created.json()).result.data;
    expect(job.id).toMatch(/^job_/);
    const got = await app.request(
      `/trpc/jobs.get?input=${encodeURIComponent(JSON.stringify({ id: job.id }))}`,
      {
        headers: auth(),
      },
    );
    expect((await got.json()).result.data.status).toBe("succeeded");
    const stranger = await app.request(
      `/trpc/jobs.get?input=${encodeURIComponent(JSON.stringify({ id: job.id }))}`,
      {
        headers: auth(OTHER),
      },
    );
    expect(stranger.status).toBe(404);
    const { error } = await stranger.json();
    expect(error.data.easel.code).toBe("not_found");
    // tRPC's own code agrees with the HTTP status, so tRPC clients see NOT_FOUND, not a 500.
    expect(error.data.code).toBe("NOT_FOUND");
    expect(error.code).toBe(-32004);
  });

  it("returns the same job for a replayed Idempotency-Key and 422 for another body", async () => {
    const { app } = await setup();
    const first = await (
      await app.request(
        "/trpc/jobs.create",
        create({ input: { prompt: "a" } }, { "idempotency-key": "k-1" }),
      )
    ).json();
    const again = await (
      await app.request(
        "/trpc/jobs.create",
        create({ input: { prompt: "a" } }, { "idempotency-key": "k-1" }),
      )
    ).json();
    expect(again.result.data.id).toBe(first.result.data.id);
    const other = await app.request(
      "/trpc/jobs.create",
      create({ input: { prompt: "b" } }, { "idempotency-key": "k-1" }),
    );
    expect(other.status).toBe(422);
    expect((await other.json()).error.data.easel.code).toBe("idempotency_mismatch");
  });

  it("answers 409 to a concurrent duplicate of an Idempotency-Key still in progress", async () => {
    const { app, inference } = await setup();
    inference.submitDelayMs = 100;
    const request = () =>
      app.request(
        "/trpc/jobs.create",
        create({ input: { prompt: "a" } }, { "idempotency-key": "dup" }),
      );
    const [a, b] = await Promise.all([request(), request()]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
  });

  it("enforces the key's concurrent-job limit with 429", async () => {
    const { app } = await setup({ concurrentJobs: 1, completeAfterMs: 10_000 });
    expect(
      (await app.request("/trpc/jobs.create", create({ input: { prompt: "a" } }))).status,
    ).toBe(200);
    const second = await app.request("/trpc/jobs.create", create({ input: { prompt: "b" } }));
    expect(second.status).toBe(429);
    expect((await second.json()).error.data.easel.code).toBe("concurrency_limited");
  });

  it("lists a key's jobs newest first with a cursor", async () => {
    const { app } = await setup();
    const ids: string[] = [];
    for (const prompt of ["a", "b", "c"]) {
      ids.push(
        (await (await app.request("/trpc/jobs.create", create({ input: { prompt } }))).json())
          .result.data.id,
      );
      await new Promise((r) => setTimeout(r, 5));
    }
    const page1 = (
      await (
        await app.request(`/trpc/jobs.list?input=${encodeURIComponent('{"limit":2}')}`, {
          headers: auth(),
        })
      ).json()
    ).result.data;
    expect(page1.data.map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1]]);
    const page2 = (
      await (
        await app.request(
          `/trpc/jobs.list?input=${encodeURIComponent(JSON.stringify({ limit: 2, cursor: page1.next_cursor }))}`,
          {
            headers: auth(),
          },
        )
      ).json()
    ).result.data;
    expect(page2.data.map((j: { id: string }) => j.id)).toEqual([ids[0]]);
    expect(page2.next_cursor).toBeNull();
  });

  it("refuses a cursor that names no job of the key instead of restarting at page one", async () => {
    const { app } = await setup();
    await app.request("/trpc/jobs.create", create({ input: { prompt: "a" } }));
    const input = encodeURIComponent(JSON.stringify({ limit: 2, cursor: "job_unknown" }));
    const response = await app.request(`/trpc/jobs.list?input=${input}`, { headers: auth() });
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error.data.easel).toMatchObject({ code: "invalid_parameter", param: "cursor" });
    expect(error.message).toMatch(/next_cursor/);
  });

  it("refuses webhook URLs on loopback or private addresses", async () => {
    const { app } = await setup();
    const response = await app.request(
      "/trpc/jobs.create",
      create({ input: { prompt: "a" }, webhook_url: "http://127.0.0.1:9/hook" }),
    );
    expect(response.status).toBe(400);
    expect((await response.json()).error.data.easel).toMatchObject({
      code: "invalid_parameter",
      param: "webhook_url",
    });
  });

  it("puts the request id, rate-limit and CORS headers on tRPC's own answers", async () => {
    const { app } = await setup({ requests: 10 });
    const response = await app.request("/trpc/models.list", {
      headers: { ...auth(), origin: "http://localhost:5173", "x-request-id": "req-trpc-1" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe("req-trpc-1");
    expect(response.headers.get("ratelimit")).toMatch(/^"default";r=9;t=\d+$/);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
  });

  it("gives tRPC-shaped errors for failures before tRPC runs (auth)", async () => {
    const { app } = await setup();
    const response = await app.request("/trpc/models.list");
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body.error.data).toMatchObject({
      code: "UNAUTHORIZED",
      httpStatus: 401,
      easel: { code: "unauthorized" },
    });
  });

  it("passes backend unavailability through as 503 with Retry-After", async () => {
    const { app, inference } = await setup();
    inference.unavailable = true;
    const response = await app.request("/trpc/jobs.create", create({ input: { prompt: "a" } }));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
  });
});
