import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { createEaselClient, EaselError, type Job, type JobEvent } from "@easel/sdk";
import { findMotoServer } from "@easel/storage/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type E2EStack,
  RUNTIMES,
  settledJob,
  startE2EStack,
  useS3TestServer,
} from "../support/e2e-stack.ts";
import {
  checkImage,
  describeVerdict,
  hasShapesModel,
  isPng,
  MODEL_ID,
  SLOW_INPUT,
} from "../support/model.ts";
import { verifyStandardWebhook } from "../support/webhooks.ts";

/**
 * The same suite against both gateway runtimes (Node and workerd under wrangler dev): the SDK and
 * the official openai client -> gateway -> inference (real pipeline) -> a real S3-compatible
 * server, with completion webhooks to a local receiver. One stack per runtime, shared by the tests
 * in order (the restart test comes last).
 */

const hasMoto = findMotoServer() !== null;
if (!hasMoto)
  console.warn("skipped e2e suite: moto_server not installed (infra/local/test.sh installs it)");

/** Few steps keep the suite quick on a 2-core machine; the Shapes model is trained for them. */
const STEPS = 8;

/** OpenAI's types list only OpenAI's sizes; the wire format is the same WIDTHxHEIGHT. */
const SIZE_64 = "64x64" as NonNullable<OpenAI.ImageGenerateParams["size"]>;

async function bytesOf(url: string, headers: Record<string, string> = {}): Promise<Uint8Array> {
  const response = await fetch(url, { headers });
  expect(response.status, `GET ${url}`).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

describe.skipIf(!hasMoto)("end to end", () => {
  const s3Server = useS3TestServer();

  describe.each(RUNTIMES)("through the %s gateway", (runtime) => {
    let stack: E2EStack;
    let easel: ReturnType<typeof createEaselClient>;
    let openai: OpenAI;

    beforeAll(async () => {
      stack = await startE2EStack(runtime, s3Server());
      easel = createEaselClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
      openai = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
    }, 180_000);
    afterAll(async () => {
      await stack?.stop();
    });

    const settled = (id: string) => settledJob(easel, id);

    it("lists the served model through the SDK and the openai client", async () => {
      const models = await easel.models.list();
      expect(models.map((m) => m.id)).toContain(MODEL_ID);
      const page = await openai.models.list();
      expect(page.data.map((m) => m.id)).toContain(MODEL_ID);
      expect(page.data.find((m) => m.id === MODEL_ID)?.object).toBe("model");
    });

    it("generates with progress, returns base64 bytes equal to the presigned S3 object, and the image shows the prompt", async () => {
      const prompt = "a big red circle";
      const progress: { step: number; total: number }[] = [];
      const job = await easel.generate(
        { prompt, seed: 7, steps: STEPS },
        { base64: true, onProgress: ({ step, total }) => progress.push({ step, total }) },
      );
      expect(job.status).toBe("succeeded");
      expect(job.model).toBe(MODEL_ID);
      expect(job.seed).toBe(7);
      expect(job.images).toHaveLength(1);

      const counted = progress.filter((p) => p.total > 0);
      expect(counted.length).toBeGreaterThan(0);
      const total = counted[0]?.total ?? 0;
      expect(total).toBeGreaterThanOrEqual(STEPS);
      expect(counted.every((p) => p.total === total)).toBe(true);
      expect(counted.map((p) => p.step)).toEqual(
        [...counted.map((p) => p.step)].sort((a, b) => a - b),
      );
      expect(counted.at(-1)?.step).toBe(total);

      const image = job.images[0];
      if (!image?.b64_json || !image.url)
        throw new Error(`job ${job.id} has no base64 image or URL`);
      const fromBase64 = new Uint8Array(Buffer.from(image.b64_json, "base64"));
      const check = checkImage(fromBase64, prompt);
      expect([check.width, check.height]).toEqual([image.width, image.height]);
      if (hasShapesModel) expect(check.verdict?.correct, describeVerdict(check.verdict)).toBe(true);

      // A presigned URL of the real S3 server, fetchable without credentials.
      expect(image.url.startsWith(`${stack.s3Endpoint}/${stack.bucket}/images/`)).toBe(true);
      expect(image.expires_at).toBeDefined();
      expect(await bytesOf(image.url)).toEqual(fromBase64);
      const listed = await stack.s3.send(
        new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: `images/predictions/${job.id}/` }),
      );
      expect(listed.Contents?.map((o) => o.Key)).toEqual([`images/predictions/${job.id}/0.png`]);
    });

    it("creates a job, streams its events, gets it, pages through jobs.list and delivers a signed completion webhook", async () => {
      const created = await easel.jobs.create({
        input: { prompt: "a small green triangle", seed: 11, steps: STEPS },
        webhook_url: `${stack.receiver.url}?job=1`,
      });
      expect(created.id).toMatch(/^job_/);
      expect(["queued", "processing", "succeeded"]).toContain(created.status);

      const events: JobEvent[] = [];
      for await (const event of easel.jobs.events(created.id)) events.push(event);
      const last = events.at(-1);
      expect(last?.type).toBe("completed");
      if (last?.type !== "completed") throw new Error("no completed event");
      expect(last.job.status).toBe("succeeded");

      const got = await easel.jobs.get(created.id);
      expect(got.status).toBe("succeeded");
      expect(got.images).toHaveLength(1);
      expect(got.images[0]?.b64_json).toBeUndefined(); // URLs only unless asked for base64
      expect(isPng(await bytesOf(got.images[0]?.url ?? ""))).toBe(true);

      const second = await easel.jobs.create({ input: { prompt: "a blue square", steps: STEPS } });
      const first = await easel.jobs.list({ limit: 1 });
      expect(first.data.map((j) => j.id)).toEqual([second.id]);
      expect(first.next_cursor).not.toBeNull();
      const next = await easel.jobs.list({ limit: 1, cursor: first.next_cursor ?? "" });
      expect(next.data.map((j) => j.id)).toEqual([created.id]);
      await settled(second.id);

      const hook = await stack.receiver.waitFor((h) => h.body.includes(created.id));
      expect(verifyStandardWebhook(stack.webhookSecret, hook)).toBeNull();
      const payload = JSON.parse(hook.body) as { type: string; data: Job };
      expect(payload.type).toBe("job.succeeded");
      expect(payload.data.id).toBe(created.id);
      expect(payload.data.images).toHaveLength(1);
      // A tampered body must not verify (the check above can fail).
      expect(
        verifyStandardWebhook(stack.webhookSecret, { ...hook, body: `${hook.body} ` }),
      ).not.toBeNull();
    });

    it("cancels a running job with jobs.cancel", async () => {
      const job = await easel.jobs.create({ input: { prompt: "a red star", ...SLOW_INPUT } });
      for await (const event of easel.jobs.events(job.id)) if (event.type === "progress") break;
      const canceled = await easel.jobs.cancel(job.id);
      expect(["canceled", "processing"]).toContain(canceled.status);
      expect((await settled(job.id)).status).toBe("canceled");
    });

    it("aborting generate with an AbortSignal cancels the job and rejects with the abort reason", async () => {
      const controller = new AbortController();
      let jobId = "";
      const reason = new Error("user gave up");
      const running = easel.generate(
        { prompt: "a yellow circle", ...SLOW_INPUT },
        {
          signal: controller.signal,
          onJob: (job) => {
            jobId = job.id;
          },
          onProgress: ({ step }) => {
            if (step >= 1) controller.abort(reason);
          },
        },
      );
      await expect(running).rejects.toBe(reason);
      expect(jobId).toMatch(/^job_/);
      expect((await settled(jobId)).status).toBe("canceled");
    });

    it("rejects bad requests with an EaselError carrying the server's code, param and status", async () => {
      const invalid = await easel.jobs
        .create({ input: { prompt: "a red circle", steps: 500 } })
        .catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(EaselError);
      expect(invalid).toMatchObject({ code: "invalid_parameter", status: 400 });
      expect((invalid as EaselError).param).toMatch(/steps/);
      expect((invalid as EaselError).message).toMatch(/150/);

      const missing = await easel.jobs.get("job_doesnotexist0000").catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: "not_found", status: 404 });
      const noStream = await (async () => {
        for await (const _ of easel.jobs.events("job_doesnotexist0000")) break;
      })().catch((e: unknown) => e);
      expect(noStream).toMatchObject({ code: "not_found", status: 404 });

      const stranger = createEaselClient({
        baseUrl: stack.baseUrl,
        apiKey: "sk-not-a-real-key-0000",
      });
      expect(await stranger.models.list().catch((e: unknown) => e)).toMatchObject({
        code: "unauthorized",
        status: 401,
      });
    });

    it("serves OpenAI's images.generate with b64_json for n images of the asked size", async () => {
      const prompt = "a big blue square";
      const result = await openai.images.generate({
        prompt,
        n: 2,
        size: SIZE_64,
        response_format: "b64_json",
        // Easel's extensions travel in the same body.
        ...({ steps: STEPS, seed: 3 } as object),
      });
      expect(result.data).toHaveLength(2);
      const images = (result.data ?? []).map(
        (d) => new Uint8Array(Buffer.from(d.b64_json ?? "", "base64")),
      );
      const checks = images.map((bytes) => checkImage(bytes, prompt));
      for (const check of checks) {
        expect([check.width, check.height]).toEqual([64, 64]);
        if (hasShapesModel)
          expect(check.verdict?.correct, describeVerdict(check.verdict)).toBe(true);
      }
      expect(images[0]).not.toEqual(images[1]); // two samples, two seeds
    });

    it("serves OpenAI's images.generate with presigned URLs", async () => {
      const result = await openai.images.generate({
        prompt: "a small yellow circle",
        size: SIZE_64,
        response_format: "url",
        ...({ steps: STEPS } as object),
      });
      const url = result.data?.[0]?.url ?? "";
      expect(url.startsWith(`${stack.s3Endpoint}/${stack.bucket}/`)).toBe(true);
      expect(checkImage(await bytesOf(url), "a small yellow circle").width).toBe(64);
    });

    it("raises openai's BadRequestError with our message, param and code", async () => {
      const error = await openai.images
        .generate({ prompt: "a red circle", n: 9, size: SIZE_64 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const bad = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(bad.status).toBe(400);
      expect(bad.code).toBe("invalid_parameter");
      expect(bad.param).toBe("n");
      expect(bad.type).toBe("invalid_request_error");
      expect(bad.message).toMatch(/^400 .*n.*4/);

      const auth = await new OpenAI({
        baseURL: `${stack.baseUrl}/v1`,
        apiKey: "sk-wrong-key-0000000000",
        maxRetries: 0,
      }).models
        .list()
        .catch((e: unknown) => e);
      expect(auth).toBeInstanceOf(OpenAI.AuthenticationError);
    });

    it("keeps a job's record across a gateway restart", async () => {
      const job = await easel.generate({ prompt: "a big green star", seed: 5, steps: STEPS });
      const before = await easel.jobs.get(job.id);
      await stack.restartService("gateway");
      const after = await easel.jobs.get(job.id);
      expect(after).toEqual(before);
      const listed = await easel.jobs.list({ limit: 100 });
      expect(listed.data.map((j) => j.id)).toContain(job.id);
      expect(isPng(await bytesOf(after.images[0]?.url ?? ""))).toBe(true);
    });
  });
});
