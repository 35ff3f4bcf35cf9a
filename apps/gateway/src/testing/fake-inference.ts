import {
  type CreatePrediction,
  EaselError,
  type Prediction,
  type PredictionEvent,
} from "@easel/schema";
import type { InferenceClient, InferenceModel } from "../inference/client.ts";

/**
 * An in-memory inference backend for the gateway's unit tests: predictions succeed after
 * `completeAfterMs`, with one 1x1 "image" per requested image. Not used outside unit tests.
 */
export class FakeInference implements InferenceClient {
  readonly predictions = new Map<
    string,
    { body: CreatePrediction; createdAt: number; canceled: boolean }
  >();
  submitDelayMs = 0;
  unavailable = false;

  constructor(private readonly completeAfterMs = 0) {}

  async submit(id: string, body: CreatePrediction) {
    if (this.unavailable)
      throw new EaselError("backend_unavailable", "no inference backend can take the work", {
        retryAfter: 5,
      });
    if (this.submitDelayMs) await new Promise((r) => setTimeout(r, this.submitDelayMs));
    if (!this.predictions.has(id))
      this.predictions.set(id, { body, createdAt: Date.now(), canceled: false });
    return { backend: "fake", prediction: await this.get("fake", id) };
  }

  async get(_backend: string, id: string): Promise<Prediction> {
    const p = this.predictions.get(id);
    if (!p) throw new EaselError("not_found", `prediction ${id} not found`);
    const done = Date.now() - p.createdAt >= this.completeAfterMs;
    const status = p.canceled ? "canceled" : done ? "succeeded" : "processing";
    const n = p.body.input.num_images ?? 1;
    return {
      id,
      model: p.body.model ?? "easel-shapes",
      status,
      input: p.body.input,
      seed: p.body.input.seed ?? 42,
      output:
        status === "succeeded"
          ? {
              images: Array.from({ length: n }, (_, i) => ({
                key: `predictions/${id}/${i}.png`,
                format: "png" as const,
                width: 64,
                height: 64,
                seed: p.body.input.seed ?? 42,
                bytes: 4,
              })),
            }
          : null,
      error: null,
      created_at: new Date(p.createdAt).toISOString(),
      started_at: null,
      completed_at: status === "processing" ? null : new Date().toISOString(),
      queue_position: null,
      progress: null,
      metrics: { queue_ms: null, predict_ms: null, total_ms: null, batch_size: null },
    };
  }

  async cancel(_backend: string, id: string) {
    const p = this.predictions.get(id);
    if (p) p.canceled = true;
    return await this.get("fake", id);
  }

  async *events(
    _backend: string,
    id: string,
  ): AsyncGenerator<{ id: string; event: PredictionEvent }> {
    yield { id: "1", event: { type: "progress", step: 1, total: 1 } };
    yield { id: "2", event: { type: "succeeded", prediction: await this.get("fake", id) } };
  }

  async file(): Promise<Uint8Array> {
    return new Uint8Array([137, 80, 78, 71]);
  }

  async models(): Promise<InferenceModel[]> {
    return [{ id: "easel-shapes", default_width: 64, default_height: 64, default_steps: 20 }];
  }
}
