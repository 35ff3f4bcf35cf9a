import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningService, signedFetch, startService } from "../src/testing/harness.ts";
import { REPO_ROOT } from "./support.ts";

const FIXTURE_DIR = resolve(REPO_ROOT, "packages/pipeline/fixtures/tiny-sd");

describe("the inference service while the model is busy", () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await startService({ EASEL_MODELS: `tiny=${FIXTURE_DIR}` });
  });
  afterAll(async () => service?.stop());

  it("keeps answering /health quickly while a slow generation runs (the model has its own thread)", async () => {
    // 512x512 makes the fixture's VAE decode take most of a second on one thread: with the model
    // on the event loop's thread, /health would wait that long.
    const put = await signedFetch(service.url, "PUT", "/v1/predictions/busy-1", {
      input: { prompt: "a red circle", width: 512, height: 512, steps: 3, seed: 1 },
    });
    expect(put.status).toBe(202);
    const latencies: number[] = [];
    for (;;) {
      const started = performance.now();
      const health = await fetch(`${service.url}/health`);
      latencies.push(performance.now() - started);
      await health.body?.cancel();
      const state = (await (
        await signedFetch(service.url, "GET", "/v1/predictions/busy-1")
      ).json()) as { status: string };
      if (state.status === "succeeded" || state.status === "failed") {
        expect(state.status).toBe("succeeded");
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(latencies.length).toBeGreaterThan(5);
    expect(Math.max(...latencies)).toBeLessThan(250);
  }, 120_000);
});
