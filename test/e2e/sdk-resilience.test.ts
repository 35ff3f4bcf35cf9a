import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { createEaselClient, EaselError, type JobEvent } from "@easel/sdk";
import { findMotoServer } from "@easel/storage/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2EStack, RUNTIMES, startE2EStack, useS3TestServer } from "../support/e2e-stack.ts";

/**
 * The SDK's retries against the real stack: a key whose limit is one request per 2 s (429 +
 * Retry-After from the gateway's limiter: memory on Node, a Durable Object on workerd), and an
 * inference service that is down for a moment (503 + Retry-After from the gateway).
 */

const hasMoto = findMotoServer() !== null;
if (!hasMoto)
  console.warn(
    "skipped SDK resilience suite: moto_server not installed (infra/local/test.sh installs it)",
  );

interface Attempt {
  status: number;
  retryAfter: number | null;
  at: number;
}

/** A fetch that records each attempt the SDK makes (status, Retry-After, when it answered). */
function recordingFetch(attempts: Attempt[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const header = response.headers.get("retry-after");
    attempts.push({
      status: response.status,
      retryAfter: header === null ? null : Number(header),
      at: Date.now(),
    });
    return response;
  };
}

/** Checks that every retry came no earlier than the Retry-After of the answer before it. */
function expectRetryAfterHonoured(attempts: Attempt[]): void {
  for (let i = 1; i < attempts.length; i++) {
    const previous = attempts[i - 1];
    const current = attempts[i];
    if (!previous || !current || previous.retryAfter === null) continue;
    expect(
      current.at - previous.at,
      `attempt ${i + 1} after Retry-After ${previous.retryAfter}`,
    ).toBeGreaterThanOrEqual(previous.retryAfter * 1000 - 20);
  }
}

describe.skipIf(!hasMoto)("SDK retries against the real stack", () => {
  const s3Server = useS3TestServer();

  describe.each(RUNTIMES)("through the %s gateway", (runtime) => {
    let stack: E2EStack;

    beforeAll(async () => {
      stack = await startE2EStack(runtime, s3Server(), {
        keys: [{ id: "slow", limits: { requests: 1, windowSeconds: 2, concurrentJobs: 2 } }],
      });
    }, 180_000);
    afterAll(async () => {
      await stack?.stop();
    });

    it("retries a 429 after the server's Retry-After, and without retries throws rate_limited with it", async () => {
      const attempts: Attempt[] = [];
      const slow = createEaselClient({
        baseUrl: stack.baseUrl,
        apiKey: stack.tokens["slow"] ?? "",
        fetch: recordingFetch(attempts),
      });
      await slow.models.list(); // spends the key's only request of the window
      const models = await slow.models.list();
      expect(models.length).toBeGreaterThan(0);
      expect(attempts.map((a) => a.status)).toEqual([200, 429, 200]);
      expect(attempts[1]?.retryAfter).toBeGreaterThanOrEqual(1);
      expectRetryAfterHonoured(attempts);

      const impatient = createEaselClient({
        baseUrl: stack.baseUrl,
        apiKey: stack.tokens["slow"] ?? "",
        retry: { retries: 0 },
      });
      const error = await impatient.models.list().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EaselError);
      expect(error).toMatchObject({ code: "rate_limited", status: 429 });
      expect((error as EaselError).retryAfter).toBeGreaterThanOrEqual(1);
      expect((error as EaselError).message).toMatch(/1 requests per 2 s/);
    });

    it("retries a 503 while inference is down after the server's Retry-After, with the same idempotent job", async () => {
      const attempts: Attempt[] = [];
      const easel = createEaselClient({
        baseUrl: stack.baseUrl,
        apiKey: stack.apiKey,
        fetch: recordingFetch(attempts),
        retry: { retries: 4 },
      });
      await stack.stopService("inference");
      // Back while the SDK waits out the gateway's Retry-After.
      const restarted = new Promise((r) => setTimeout(r, 300)).then(() =>
        stack.startService("inference"),
      );
      const job = await easel.jobs.create({ input: { prompt: "a red circle", steps: 4 } });
      await restarted;
      expect(attempts[0]?.status).toBe(503);
      expect(attempts[0]?.retryAfter).toBeGreaterThanOrEqual(1);
      expect(attempts.at(-1)?.status).toBe(200);
      expectRetryAfterHonoured(attempts);
      expect(job.id).toMatch(/^job_/);
      const listed = await easel.jobs.list({ limit: 100 });
      expect(listed.data.filter((j) => j.input.prompt === "a red circle")).toHaveLength(1);
    });

    it("stops following a job's events with the server's error when the stream keeps failing", async () => {
      const easel = createEaselClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
      const job = await easel.generate({ prompt: "a green star", steps: 4 }, { base64: true });
      expect(job.images[0]?.b64_json).toBeDefined();
      // The image vanishes from the bucket: the job's base64 result cannot be built any more.
      const key = new URL(job.images[0]?.url ?? "").pathname.split("/").slice(2).join("/");
      await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }));
      const events: JobEvent[] = [];
      const error = await (async () => {
        for await (const event of easel.jobs.events(job.id)) events.push(event);
      })().catch((e: unknown) => e);
      expect(events).toEqual([]);
      expect(error).toBeInstanceOf(EaselError);
      expect(error).toMatchObject({ code: "backend_unavailable" });
      expect((error as EaselError).message).toContain(job.id);
    });

    it("gives up with backend_unavailable when Retry-After is longer than it may wait", async () => {
      const easel = createEaselClient({
        baseUrl: stack.baseUrl,
        apiKey: stack.apiKey,
        retry: { maxRetryAfterS: 0 },
      });
      await stack.stopService("inference");
      try {
        const error = await easel.jobs
          .create({ input: { prompt: "a blue square", steps: 4 } })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(EaselError);
        expect(error).toMatchObject({ code: "backend_unavailable", status: 503 });
      } finally {
        await stack.startService("inference");
      }
    });
  });
});
