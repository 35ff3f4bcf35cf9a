import { createEaselClient } from "@easel/sdk";
import { findMotoServer } from "@easel/storage/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type E2EStack,
  RUNTIMES,
  settledJob,
  startE2EStack,
  useS3TestServer,
} from "../support/e2e-stack.ts";

/**
 * Job retention on both gateway runtimes: a finished job and its idempotency key are forgotten
 * once EASEL_JOB_RETENTION_HOURS has passed, by the Node timer or by the jobs Durable Object's
 * alarm under workerd, with nobody asking in between.
 */
const RETENTION_HOURS = 0.001; // 3.6 s
const RETENTION_MS = RETENTION_HOURS * 3_600_000;
const hasMoto = findMotoServer() !== null;
if (!hasMoto)
  console.warn("skipping job retention: moto_server not found (bash infra/local/setup.sh --test)");

describe.skipIf(!hasMoto)("job retention", () => {
  const s3Server = useS3TestServer();

  describe.each(RUNTIMES)("through the %s gateway", (runtime) => {
    let stack: E2EStack;
    let easel: ReturnType<typeof createEaselClient>;

    beforeAll(async () => {
      stack = await startE2EStack(runtime, s3Server(), {
        gatewayEnv: { EASEL_JOB_RETENTION_HOURS: String(RETENTION_HOURS) },
      });
      easel = createEaselClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    }, 180_000);
    afterAll(async () => {
      await stack?.stop();
    });

    it("forgets a finished job and its idempotency key after the retention", async () => {
      const idempotencyKey = `retention-${runtime}-${Date.now()}`;
      // Slow enough that the gateway looks for expired jobs while this one is still running, so a
      // job finishing after a scan that found nothing must still be forgotten on time.
      const input = { prompt: "a red circle", seed: 3, steps: 100, num_images: 2 };
      const created = await easel.jobs.create({ input }, { idempotencyKey });
      expect((await settledJob(easel, created.id, 60_000)).status).toBe("succeeded");
      const finishedAt = Date.now();
      // Within the retention the key still names the same job.
      const repeated = await easel.jobs.create({ input }, { idempotencyKey });
      expect(repeated.id).toBe(created.id);

      // Nothing but the gateway's own timer or alarm may forget it: no reads until it is due.
      await new Promise((r) => setTimeout(r, RETENTION_MS));
      let gone: unknown;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
        gone = await easel.jobs.get(created.id).catch((e: unknown) => e);
        if (gone instanceof Error) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(gone).toMatchObject({ code: "not_found", status: 404 });
      expect(Date.now() - finishedAt).toBeGreaterThanOrEqual(RETENTION_MS);
      const listed = await easel.jobs.list({ limit: 10 });
      expect(listed.data.map((j) => j.id)).not.toContain(created.id);

      // The key is free again: the same request makes a new job.
      const again = await easel.jobs.create({ input }, { idempotencyKey });
      expect(again.id).not.toBe(created.id);
    }, 120_000);
  });
});
