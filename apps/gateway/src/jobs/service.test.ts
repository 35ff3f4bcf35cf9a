import { describe, expect, it } from "vitest";
import { silentLogger } from "../logger.ts";
import { FakeInference } from "../testing/fake-inference.ts";
import { MemoryJobStore } from "./memory-store.ts";
import { JobsService } from "./service.ts";
import { literalAddressPolicy, standardWebhookSigner, type WebhookSigner } from "./webhooks.ts";

const key = { id: "k1", name: "tests" };

function service(webhookSigner: WebhookSigner | null, fetch?: typeof globalThis.fetch) {
  return new JobsService({
    store: new MemoryJobStore(),
    inference: new FakeInference(),
    logger: silentLogger,
    concurrencyOf: () => 4,
    webhookSigner,
    webhookPolicy: literalAddressPolicy(true),
    publicUrl: "http://gateway.test",
    ...(fetch ? { fetch } : {}),
  });
}

describe("JobsService webhooks", () => {
  it("refuses a webhook_url when the gateway has no secret to sign webhooks", async () => {
    await expect(
      service(null).create(key, {
        input: { prompt: "a" },
        webhook_url: "https://hooks.example.com/easel",
      }),
    ).rejects.toMatchObject({ code: "invalid_parameter", param: "webhook_url" });
  });

  it("delivers one signed webhook per job with the same message id on every attempt", async () => {
    const calls: Headers[] = [];
    let fail = true;
    const fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      calls.push(new Headers(init?.headers));
      const status = fail ? 500 : 204;
      fail = false;
      return new Response(null, { status });
    }) as typeof globalThis.fetch;
    let now = 1_000_000;
    const jobs = new JobsService({
      store: new MemoryJobStore(),
      inference: new FakeInference(),
      logger: silentLogger,
      concurrencyOf: () => 4,
      webhookSigner: standardWebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
      webhookPolicy: literalAddressPolicy(true),
      publicUrl: "http://gateway.test",
      fetch,
      now: () => now,
    });
    const job = await jobs.create(key, {
      input: { prompt: "a" },
      webhook_url: "http://127.0.0.1:9/hook",
    });
    await jobs.reconcile(); // first attempt fails with 500
    now += 6_000; // past the first backoff
    await jobs.reconcile(); // second attempt succeeds
    await jobs.reconcile(); // nothing left to send
    expect(calls).toHaveLength(2);
    expect(calls.map((h) => h.get("webhook-id"))).toEqual([`msg_${job.id}`, `msg_${job.id}`]);
    expect(calls[1]?.get("webhook-signature")).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });
});

describe("JobsService retention", () => {
  const hour = 3_600_000;
  function withClock(inference: FakeInference) {
    const clock = { offset: 0 };
    const jobs = new JobsService({
      store: new MemoryJobStore(),
      inference,
      logger: silentLogger,
      concurrencyOf: () => 4,
      webhookSigner: null,
      webhookPolicy: literalAddressPolicy(true),
      publicUrl: "http://gateway.test",
      retentionMs: hour,
      now: () => Date.now() + clock.offset,
    });
    return { jobs, clock };
  }

  it("forgets a finished job and its idempotency key once the retention has passed", async () => {
    const { jobs, clock } = withClock(new FakeInference());
    const done = await jobs.create(key, { input: { prompt: "a" } }, { idempotencyKey: "k-1" });
    await jobs.reconcile(); // the fake backend has finished it
    expect((await jobs.get(key, done.id)).status).toBe("succeeded");
    const dueIn = await jobs.expireFinished();
    expect(dueIn).toBeGreaterThan(hour - 60_000);
    expect(dueIn).toBeLessThanOrEqual(hour);
    await expect(jobs.get(key, done.id)).resolves.toMatchObject({ id: done.id });

    clock.offset = hour + 1000;
    expect(await jobs.expireFinished()).toBeNull();
    await expect(jobs.get(key, done.id)).rejects.toMatchObject({ code: "not_found" });
    const again = await jobs.create(key, { input: { prompt: "b" } }, { idempotencyKey: "k-1" });
    expect(again.id).not.toBe(done.id);
  });

  it("never forgets a job that has not finished", async () => {
    const { jobs, clock } = withClock(new FakeInference(10 * hour));
    const running = await jobs.create(key, { input: { prompt: "a" } });
    await jobs.reconcile();
    clock.offset = 5 * hour;
    expect(await jobs.expireFinished()).toBeNull();
    expect((await jobs.get(key, running.id)).status).not.toBe("succeeded");
  });
});
