import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Prediction } from "@easel/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictionRecord } from "../src/journal.ts";
import { type RunningService, signedFetch, startService } from "../src/testing/harness.ts";
import {
  eventually,
  fetchImages,
  modelUnderTest,
  pollUntilDone,
  readSse,
  startImageStore,
  type TestImageStore,
} from "./support.ts";

const model = modelUnderTest();

async function journaled(service: RunningService, id: string): Promise<PredictionRecord> {
  const file = join(service.stateDir, "state", "predictions", `${id}.json`);
  return JSON.parse(await readFile(file, "utf8")) as PredictionRecord;
}

/** Resolves once the prediction has reported at least one denoising step over SSE. */
async function untilStepping(service: RunningService, id: string): Promise<void> {
  const response = await signedFetch(service.url, "GET", `/v1/predictions/${id}/events`);
  const events = await readSse(response, (e) => e.event === "progress");
  if (events.at(-1)?.event !== "progress") throw new Error(`${id} ended without a step`);
}

async function put(service: RunningService, id: string, body: unknown, headers = {}) {
  return await signedFetch(service.url, "PUT", `/v1/predictions/${id}`, body, { headers });
}

describe("the inference service process under faults", () => {
  let store: TestImageStore;
  const started: RunningService[] = [];
  const start = async (env: Record<string, string> = {}, stateDir?: string) => {
    const service = await startService(
      { ...model.env, ...store.env, ...env },
      stateDir ? { stateDir } : {},
    );
    started.push(service);
    return service;
  };

  beforeAll(async () => {
    store = await startImageStore();
  });
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop("SIGKILL")));
    await store?.stop();
  });

  it("resumes a prediction cut off by SIGKILL when restarted on the same state, losing nothing", async () => {
    const first = await start({ EASEL_BATCHING: "0" });
    expect(
      (await put(first, "crash-running", { input: { prompt: model.prompt, ...model.slow } }))
        .status,
    ).toBe(202);
    expect(
      (await put(first, "crash-queued", { input: { prompt: model.prompt, ...model.quick } }))
        .status,
    ).toBe(202);
    await untilStepping(first, "crash-running");
    expect(await first.stop("SIGKILL")).toBeNull();
    expect((await journaled(first, "crash-running")).prediction.status).toBe("processing");
    expect((await journaled(first, "crash-queued")).prediction.status).toBe("queued");

    const second = await start({}, first.stateDir);
    for (const id of ["crash-running", "crash-queued"]) {
      const done = await pollUntilDone(second.url, id);
      expect(done.status).toBe("succeeded");
      const [fetched] = await fetchImages(second.url, done);
      model.check(fetched!.image, model.prompt);
    }
    const record = await journaled(second, "crash-running");
    expect(record.attempts).toBe(2);
    expect(second.logs.some((l) => l.includes('"prediction resumed"'))).toBe(true);
    await second.stop();
  });

  it("answers 503 queue_full with Retry-After once the queue is at capacity, and /health says BUSY", async () => {
    const service = await start({ EASEL_QUEUE_CAPACITY: "2", EASEL_BATCHING: "0" });
    await put(service, "full-running", { input: { prompt: model.prompt, ...model.slow } });
    await untilStepping(service, "full-running");
    for (const id of ["full-q1", "full-q2"]) {
      expect(
        (await put(service, id, { input: { prompt: model.prompt, ...model.quick } })).status,
      ).toBe(202);
    }
    const refused = await put(service, "full-refused", {
      input: { prompt: model.prompt, ...model.quick },
    });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("queue_full");
    const health = await fetch(`${service.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "BUSY", queue_depth: 2, in_flight: 1 });
    // Nothing of the refused request was kept: once there is room, the same id is accepted.
    expect((await signedFetch(service.url, "GET", "/v1/predictions/full-refused")).status).toBe(
      404,
    );
    await signedFetch(service.url, "POST", "/v1/predictions/full-running/cancel");
    await pollUntilDone(service.url, "full-q2");
    const retried = await put(
      service,
      "full-refused",
      { input: { prompt: model.prompt, ...model.quick } },
      { prefer: "wait=60" },
    );
    expect(retried.status).toBe(200);
    await service.stop();
  });

  it("drains on SIGTERM: in-flight work finishes, the exit code is 0, and queued work resumes on the next start", async () => {
    const first = await start({ EASEL_BATCHING: "0" });
    await put(first, "drain-running", { input: { prompt: model.prompt, ...model.slow } });
    await put(first, "drain-queued", { input: { prompt: model.prompt, ...model.quick } });
    await untilStepping(first, "drain-running");
    const exited = first.stop("SIGTERM");
    const health = await eventually(async () => {
      const response = await fetch(`${first.url}/health`);
      const body = (await response.json()) as { status: string };
      return body.status === "STOPPING" ? response.status : undefined;
    });
    expect(health).toBe(503);
    const refused = await put(first, "drain-late", { input: { prompt: model.prompt } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("not_ready");
    expect(await exited).toBe(0);
    expect((await journaled(first, "drain-running")).prediction.status).toBe("succeeded");
    expect((await journaled(first, "drain-queued")).prediction.status).toBe("queued");

    const second = await start({}, first.stateDir);
    const resumed = await pollUntilDone(second.url, "drain-queued");
    expect(resumed.status).toBe("succeeded");
    const [fetched] = await fetchImages(second.url, resumed);
    model.check(fetched!.image, model.prompt);
    const finished = (await (
      await signedFetch(second.url, "GET", "/v1/predictions/drain-running")
    ).json()) as Prediction;
    expect(finished.status).toBe("succeeded");
    expect(finished.progress?.step).toBe(finished.progress?.total);
    expect(await second.stop()).toBe(0);
  });

  it("reports FAILED on /health with the reason when a model cannot be loaded", async () => {
    let last: { status: number; body: { status: string; error?: string } } | undefined;
    const service = await startService(
      { EASEL_MODELS: "broken=/nonexistent/model" },
      { returnWhenListening: true },
    );
    started.push(service);
    await eventually(async () => {
      const response = await fetch(`${service.url}/health`);
      last = { status: response.status, body: (await response.json()) as never };
      return last.body.status === "FAILED" ? true : undefined;
    });
    expect(last?.status).toBe(503);
    expect(last?.body.error).toContain("/nonexistent/model");
    const refused = await put(service, "never", { input: { prompt: "a red circle" } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("not_ready");
    expect(await service.stop()).toBe(0);
  });
});
