import { decodePng } from "@easel/pipeline";
import type { Prediction } from "@easel/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RunningService,
  signedFetch,
  startService,
  TEST_SECRET,
} from "../src/testing/harness.ts";
import {
  eventually,
  fetchImages,
  modelUnderTest,
  parseMetrics,
  pollUntilDone,
  readSse,
  type SseEvent,
  startImageStore,
  type TestImageStore,
} from "./support.ts";

const model = modelUnderTest();
/** Every prompt sent in this file: none of them may appear in the service's logs. */
const PROMPTS = {
  main: model.prompt,
  poll: "a big blue square",
  idem: "a big green triangle",
  sse: "a small yellow star",
  cancel: "a big purple star",
  formats: "a big green square",
  metrics: "two small blue squares",
  batch: "a small green circle",
};
const input = (prompt: string, extra: Record<string, unknown> = {}) => ({
  input: { prompt, ...model.quick, ...extra },
});

describe("the inference service process with a real S3-compatible store", () => {
  let service: RunningService;
  let store: TestImageStore;
  const healthDuringStart: { status: number; body: string }[] = [];

  beforeAll(async () => {
    store = await startImageStore();
    service = await startService(
      { ...model.env, ...store.env },
      {
        onHealth: (status, body) => healthDuringStart.push({ status, body: body.status }),
      },
    );
  });
  afterAll(async () => {
    await service?.stop();
    await store?.stop();
  });

  it("answers /health with 503 STARTING while the models load, then 200 READY with queue details", async () => {
    expect(healthDuringStart[0]).toEqual({ status: 503, body: "STARTING" });
    expect(healthDuringStart.at(-1)).toEqual({ status: 200, body: "READY" });
    for (const answer of healthDuringStart.slice(0, -1)) {
      expect(answer).toEqual({ status: 503, body: "STARTING" });
    }
    const response = await fetch(`${service.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "READY",
      queue_depth: 0,
      in_flight: 0,
      queue_capacity: 64,
    });
  });

  it("lists the served model with its defaults on /v1/models", async () => {
    const response = await signedFetch(service.url, "GET", "/v1/models");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Record<string, unknown>[] };
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toMatchObject({
      id: model.name,
      object: "model",
      size_multiple: model.sizeMultiple,
    });
    expect(body.data[0]?.["default_width"]).toBe(body.data[0]?.["default_height"]);
  });

  it("returns 200 with the finished prediction for Prefer: wait, and its stored image shows the prompt", async () => {
    const response = await signedFetch(
      service.url,
      "PUT",
      "/v1/predictions/wait-1",
      input(PROMPTS.main),
      { headers: { prefer: "wait=60" } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("preference-applied")).toBe("wait=60");
    expect(response.headers.get("location")).toBe("/v1/predictions/wait-1");
    const prediction = (await response.json()) as Prediction;
    expect(prediction).toMatchObject({ id: "wait-1", model: model.name, status: "succeeded" });
    expect(prediction.seed).toBe(7);
    expect(prediction.metrics.total_ms).toBeGreaterThan(0);
    const [stored] = prediction.output?.images ?? [];
    expect(stored?.key).toBe("predictions/wait-1/0.png");
    if (store.kind === "s3")
      expect(stored?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/easel-test\//);
    const [fetched] = await fetchImages(service.url, prediction);
    expect(fetched?.contentType).toBe("image/png");
    expect(fetched?.image.width).toBe(stored?.width);
    expect(fetched?.bytes.length).toBe(stored?.bytes);
    model.check(fetched!.image, PROMPTS.main);
    // The generation settings travel with the file (PNG text chunk, as A1111 writes them).
    expect(decodePng(fetched!.bytes).text["parameters"]).toContain(PROMPTS.main);
  });

  it("returns 202 without Prefer: wait, and GET shows the prediction until it succeeds", async () => {
    const response = await signedFetch(
      service.url,
      "PUT",
      "/v1/predictions/poll-1",
      input(PROMPTS.poll),
    );
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as Prediction;
    expect(accepted.status).toBe("queued");
    expect(accepted.output).toBeNull();
    const done = await pollUntilDone(service.url, "poll-1");
    expect(done.status).toBe("succeeded");
    expect(done.started_at).not.toBeNull();
    const [fetched] = await fetchImages(service.url, done);
    model.check(fetched!.image, PROMPTS.poll);
  });

  it("returns the same prediction for a repeated PUT with the same id and input, and 409 for another input", async () => {
    const first = await signedFetch(service.url, "PUT", "/v1/predictions/idem-1", {
      input: { prompt: PROMPTS.idem, ...model.quick, seed: undefined },
    });
    expect(first.status).toBe(202);
    expect(first.headers.get("x-easel-created")).toBe("1");
    const created = (await first.json()) as Prediction;
    // Same body with keys in another order: the same request.
    const again = await signedFetch(
      service.url,
      "PUT",
      "/v1/predictions/idem-1",
      JSON.stringify({ input: { ...model.quick, seed: undefined, prompt: PROMPTS.idem } }),
      { headers: { prefer: "wait=60" } },
    );
    expect(again.status).toBe(200);
    expect(again.headers.get("x-easel-created")).toBe("0");
    const repeated = (await again.json()) as Prediction;
    expect(repeated.created_at).toBe(created.created_at);
    expect(repeated.seed).toBe(created.seed); // the random seed was drawn once
    const conflict = await signedFetch(service.url, "PUT", "/v1/predictions/idem-1", {
      input: { prompt: `${PROMPTS.idem} on the left`, ...model.quick },
    });
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: { code: string } }).error.code).toBe("conflict");
  });

  it("streams events with increasing ids over SSE and resumes after Last-Event-ID", async () => {
    const put = await signedFetch(service.url, "PUT", "/v1/predictions/sse-1", input(PROMPTS.sse));
    expect(put.status).toBe(202);
    const stream = await signedFetch(service.url, "GET", "/v1/predictions/sse-1/events");
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const all = await readSse(stream, () => false);
    const types = all.map((e) => e.event).filter((t) => t !== "preview");
    const last = JSON.parse(all.at(-1)!.data) as { prediction: Prediction };
    expect(last.prediction.status).toBe("succeeded");
    // Steps as the scheduler counts them (PNDM adds one to the requested steps).
    const steps = last.prediction.progress?.total ?? 0;
    expect(steps).toBeGreaterThanOrEqual(model.quick.steps ?? 1);
    expect(types).toEqual([
      "queued",
      "started",
      ...Array.from({ length: steps }, () => "progress"),
      "succeeded",
    ]);
    const ids = all.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    const progress = all.filter((e) => e.event === "progress").map((e) => JSON.parse(e.data));
    expect(progress.map((p) => p.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));

    // Resume after the third event: exactly the events after it, in order.
    const resumeAfter = all[2]!.id!;
    const resumed = await readSse(
      await signedFetch(service.url, "GET", "/v1/predictions/sse-1/events", undefined, {
        headers: { "last-event-id": resumeAfter },
      }),
      () => false,
    );
    // Previews are live-only (the history keeps the latest one), every other event is replayed.
    const lasting = (events: SseEvent[]) => events.filter((e) => e.event !== "preview");
    expect(lasting(resumed).map((e) => e.id)).toEqual(lasting(all.slice(3)).map((e) => e.id));
    for (const event of resumed) expect(Number(event.id)).toBeGreaterThan(Number(resumeAfter));
    // A client that has seen the terminal event gets nothing more, and the stream ends.
    const nothing = await readSse(
      await signedFetch(service.url, "GET", "/v1/predictions/sse-1/events", undefined, {
        headers: { "last-event-id": all.at(-1)!.id! },
      }),
      () => false,
    );
    expect(nothing).toEqual([]);
  });

  it("cancels a running prediction between steps: it ends canceled with step < total and no output", async () => {
    const put = await signedFetch(service.url, "PUT", "/v1/predictions/cancel-1", {
      input: { prompt: PROMPTS.cancel, ...model.slow },
    });
    expect(put.status).toBe(202);
    const events: SseEvent[] = [];
    let cancelStatus: number | undefined;
    await readSse(
      await signedFetch(service.url, "GET", "/v1/predictions/cancel-1/events"),
      (event) => {
        events.push(event);
        if (event.event === "progress" && cancelStatus === undefined) {
          cancelStatus = 0;
          void signedFetch(service.url, "POST", "/v1/predictions/cancel-1/cancel").then((r) => {
            cancelStatus = r.status;
          });
        }
        return event.event === "canceled";
      },
    );
    expect(events.at(-1)?.event).toBe("canceled");
    await eventually(() => (cancelStatus ? cancelStatus : undefined), { what: "cancel reply" });
    expect(cancelStatus).toBe(200);
    // Live SSE listeners get latent previews as PNG while it runs.
    const preview = events.find((e) => e.event === "preview");
    expect(preview).toBeDefined();
    const previewPng = Buffer.from(JSON.parse(preview!.data).image as string, "base64");
    expect(decodePng(new Uint8Array(previewPng)).width).toBeGreaterThan(0);

    const response = await signedFetch(service.url, "GET", "/v1/predictions/cancel-1");
    const canceled = (await response.json()) as Prediction;
    expect(canceled.status).toBe("canceled");
    expect(canceled.output).toBeNull();
    expect(canceled.progress?.step ?? 0).toBeLessThan(canceled.progress?.total ?? 0);
    // The engine stops too: nothing stays in flight.
    await eventually(
      async () => {
        const health = (await (await fetch(`${service.url}/health`)).json()) as {
          in_flight: number;
        };
        return health.in_flight === 0 ? true : undefined;
      },
      { what: "in_flight back to 0" },
    );
    // Canceling a finished prediction changes nothing.
    const again = await signedFetch(service.url, "POST", "/v1/predictions/cancel-1/cancel");
    expect(((await again.json()) as Prediction).status).toBe("canceled");
  });

  it("runs compatible queued predictions as one batch", async () => {
    await signedFetch(service.url, "PUT", "/v1/predictions/batch-blocker", {
      input: { prompt: PROMPTS.batch, ...model.slow },
    });
    await eventually(
      async () => {
        const r = await signedFetch(service.url, "GET", "/v1/predictions/batch-blocker");
        return ((await r.json()) as Prediction).status === "processing" ? true : undefined;
      },
      { what: "blocker processing" },
    );
    const ids = ["batch-a", "batch-b", "batch-c"];
    for (const [i, id] of ids.entries()) {
      const r = await signedFetch(service.url, "PUT", `/v1/predictions/${id}`, {
        input: { prompt: PROMPTS.batch, ...model.quick, seed: i },
      });
      expect(((await r.json()) as Prediction).queue_position).toBe(i);
    }
    await signedFetch(service.url, "POST", "/v1/predictions/batch-blocker/cancel");
    for (const id of ids) {
      const done = await pollUntilDone(service.url, id);
      expect(done.status).toBe("succeeded");
      expect(done.metrics.batch_size).toBe(3);
    }
  });

  it("stores webp and jpeg output with their content types", async () => {
    for (const format of ["webp", "jpeg"] as const) {
      const response = await signedFetch(
        service.url,
        "PUT",
        `/v1/predictions/format-${format}`,
        input(PROMPTS.formats, { output_format: format }),
        { headers: { prefer: "wait=60" } },
      );
      expect(response.status).toBe(200);
      const prediction = (await response.json()) as Prediction;
      const stored = prediction.output?.images[0];
      expect(stored?.format).toBe(format);
      expect(stored?.key).toBe(
        `predictions/format-${format}/0.${format === "jpeg" ? "jpg" : "webp"}`,
      );
      const [fetched] = await fetchImages(service.url, prediction);
      expect(fetched?.contentType).toBe(`image/${format}`);
      expect(fetched?.format).toBe(format);
      model.check(fetched!.image, PROMPTS.formats);
    }
  });

  it("exposes queue depth, batch size, step and request latency histograms, images and errors on /metrics", async () => {
    const scrape = async () => {
      const response = await fetch(`${service.url}/metrics`); // unsigned, like a Prometheus scraper
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4");
      return parseMetrics(await response.text());
    };
    const before = await scrape();
    const ok = await signedFetch(
      service.url,
      "PUT",
      "/v1/predictions/metrics-1",
      input(PROMPTS.metrics, { num_images: 2 }),
      { headers: { prefer: "wait=60" } },
    );
    expect(ok.status).toBe(200);
    const bad = await signedFetch(service.url, "PUT", "/v1/predictions/metrics-2", {
      input: { prompt: PROMPTS.metrics, steps: 0 },
    });
    expect(bad.status).toBe(400);
    const after = await scrape();
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(after.get("easel_queue_depth")).toBe(0);
    expect(after.get("easel_predictions_in_flight")).toBe(0);
    expect(delta("easel_images_total")).toBe(2);
    expect(delta('easel_predictions_total{status="succeeded"}')).toBe(1);
    expect(delta("easel_batch_size_count")).toBe(1);
    expect(delta('easel_batch_size_bucket{le="1"}')).toBe(1);
    const finished = (await ok.json()) as Prediction;
    expect(delta("easel_step_seconds_count")).toBe(finished.progress?.total);
    expect(delta("easel_step_seconds_sum")).toBeGreaterThan(0);
    expect(delta('easel_request_seconds_count{status="succeeded"}')).toBe(1);
    expect(delta('easel_request_seconds_bucket{status="succeeded",le="+Inf"}')).toBe(1);
    expect(delta('easel_errors_total{code="invalid_parameter"}')).toBe(1);
  });

  it("logs one JSON object per line with request ids, and never a prompt or the shared secret", async () => {
    const response = await signedFetch(service.url, "GET", "/v1/models", undefined, {
      headers: { "x-request-id": "trace-abc-123" },
    });
    expect(response.headers.get("x-request-id")).toBe("trace-abc-123");
    await eventually(() =>
      service.stdout.some((l) => l.includes("trace-abc-123")) ? true : undefined,
    );
    const lines = service.stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((l) => l["msg"] === "request");
    expect(requests.length).toBeGreaterThan(10);
    for (const line of requests) expect(line["requestId"]).toMatch(/^[\w.:-]+$/);
    expect(requests.find((l) => l["requestId"] === "trace-abc-123")).toMatchObject({
      method: "GET",
      path: "/v1/models",
      status: 200,
    });
    const accepted = lines.find((l) => l["msg"] === "prediction accepted");
    expect(accepted?.["requestId"]).toEqual(expect.any(String));
    const everything = service.logs.join("\n");
    expect(everything).not.toContain(TEST_SECRET);
    for (const prompt of Object.values(PROMPTS)) expect(everything).not.toContain(prompt);
  });
});
