import type { EaselError } from "@easel/schema";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { bodyLimit } from "./index.ts";

function appWith(maxBytes: number, drainBytes?: number) {
  const app = new Hono();
  app.use(bodyLimit(drainBytes === undefined ? { maxBytes } : { maxBytes, drainBytes }));
  app.post("/", async (c) => c.text(`got ${(await c.req.text()).length}`));
  app.onError((error, c) =>
    c.json({ code: (error as EaselError).code }, (error as EaselError).status as 413),
  );
  return app;
}

/** A streamed body of `total` bytes in `chunk`-byte pieces, counting how much was pulled. */
function streamed(total: number, chunk: number) {
  const state = { pulled: 0, canceled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= total) return controller.close();
      const size = Math.min(chunk, total - state.pulled);
      state.pulled += size;
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
    cancel() {
      state.canceled = true;
    },
  });
  return { stream, state };
}

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  new Request("http://gateway.test/", {
    method: "POST",
    body,
    headers,
    duplex: "half",
  } as RequestInit);

describe("bodyLimit", () => {
  it("refuses a Content-Length over the limit with 413 without reading the body", async () => {
    const { stream, state } = streamed(2000, 100);
    const response = await appWith(1000).request(post(stream, { "content-length": "2000" }));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ code: "payload_too_large" });
    expect(state.pulled).toBeLessThanOrEqual(100);
  });

  it("passes bodies at the limit through unchanged, streamed or not", async () => {
    const exact = await appWith(1000).request(post("x".repeat(1000)));
    expect(await exact.text()).toBe("got 1000");
    const { stream } = streamed(1000, 64);
    const chunked = await appWith(1000).request(post(stream));
    expect(chunked.status).toBe(200);
    expect(await chunked.text()).toBe("got 1000");
  });

  it("refuses a streamed body past the limit and drains it when it ends within drainBytes", async () => {
    const { stream, state } = streamed(1500, 100);
    const response = await appWith(1000).request(post(stream));
    expect(response.status).toBe(413);
    expect(state.pulled).toBe(1500);
    expect(state.canceled).toBe(false);
  });

  it("cancels an endless streamed body after drainBytes", async () => {
    const { stream, state } = streamed(Number.MAX_SAFE_INTEGER, 100);
    const response = await appWith(1000, 500).request(post(stream));
    expect(response.status).toBe(413);
    expect(state.canceled).toBe(true);
    expect(state.pulled).toBeLessThanOrEqual(1000 + 100 + 500 + 100);
  });

  it("rejects a negative limit when the factory runs", () => {
    expect(() => bodyLimit({ maxBytes: -1 })).toThrow(/maxBytes must be a non-negative integer/);
    expect(() => bodyLimit({ maxBytes: 10, drainBytes: 1.5 })).toThrow(/drainBytes/);
  });
});
