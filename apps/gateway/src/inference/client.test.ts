import { EaselError, type Prediction } from "@easel/schema";
import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./breaker.ts";
import { HttpInferenceClient } from "./client.ts";

const prediction = (id: string): Prediction => ({
  id,
  model: "m",
  status: "queued",
  input: { prompt: "a" },
  seed: 1,
  output: null,
  error: null,
  created_at: new Date(0).toISOString(),
  started_at: null,
  completed_at: null,
  queue_position: 0,
  progress: null,
  metrics: { queue_ms: null, predict_ms: null, total_ms: null, batch_size: null },
});

type Behaviour = "ok" | "refused" | "503" | "hang" | "400";

/** A stand-in network of backends: each host answers /health and PUTs as its behaviour says. */
function network(behaviours: Record<string, Behaviour[]>) {
  const calls: string[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    if (url.pathname === "/health") return Response.json({ status: "READY" });
    calls.push(`${init?.method ?? "GET"} ${url.host}${url.pathname}`);
    const queue = behaviours[url.host] ?? ["ok"];
    const behaviour = queue.length > 1 ? queue.shift()! : queue[0]!;
    if (behaviour === "refused") throw new TypeError("fetch failed: connect ECONNREFUSED");
    if (behaviour === "hang") {
      await new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () =>
          reject(Object.assign(new Error("timeout"), { name: "TimeoutError" })),
        ),
      );
    }
    if (behaviour === "503")
      return Response.json(
        { error: { code: "queue_full", message: "full" } },
        { status: 503, headers: { "retry-after": "2" } },
      );
    if (behaviour === "400") {
      return Response.json(
        {
          error: {
            code: "invalid_parameter",
            message: "steps must be <= 150",
            param: "input.steps",
          },
        },
        { status: 400 },
      );
    }
    return Response.json(prediction(url.pathname.split("/").pop() ?? ""));
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

const client = (fetch: typeof globalThis.fetch, hosts: string[], extra = {}) =>
  new HttpInferenceClient({
    backends: hosts.map((h) => ({ id: h, url: `http://${h}` })),
    secret: "s".repeat(32),
    fetch,
    retries: 1,
    backoffMs: 1,
    timeoutMs: 50,
    ...extra,
  });

describe("HttpInferenceClient", () => {
  it("retries a refused connection, then fails over to the next backend", async () => {
    const net = network({ a: ["refused"], b: ["ok"] });
    const result = await client(net.fetch, ["a", "b"]).submit("p1", { input: { prompt: "a" } });
    expect(result.backend).toBe("b");
    expect(net.calls).toEqual([
      "PUT a/v1/predictions/p1",
      "PUT a/v1/predictions/p1",
      "PUT b/v1/predictions/p1",
    ]);
  });

  it("retries a 503 on the same backend with backoff before giving up on it", async () => {
    const net = network({ a: ["503", "ok"] });
    const result = await client(net.fetch, ["a"]).submit("p1", { input: { prompt: "a" } });
    expect(result.backend).toBe("a");
    expect(net.calls).toHaveLength(2);
  });

  it("answers 503 backend_unavailable with the backend's Retry-After when no backend can take the work", async () => {
    const net = network({ a: ["503"], b: ["refused"] });
    const error = await client(net.fetch, ["a", "b"])
      .submit("p1", { input: { prompt: "a" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EaselError);
    expect((error as EaselError).code).toBe("backend_unavailable");
    expect((error as EaselError).retryAfter).toBeGreaterThanOrEqual(1);
  });

  it("answers 504 backend_timeout when the backends do not answer in time", async () => {
    const net = network({ a: ["hang"] });
    const error = await client(net.fetch, ["a"])
      .submit("p1", { input: { prompt: "a" } })
      .catch((e: unknown) => e);
    expect((error as EaselError).code).toBe("backend_timeout");
  });

  it("passes a request error through without retrying or failing over", async () => {
    const net = network({ a: ["400"], b: ["ok"] });
    const error = await client(net.fetch, ["a", "b"])
      .submit("p1", { input: { prompt: "a" } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "invalid_parameter", param: "input.steps" });
    expect(net.calls).toEqual(["PUT a/v1/predictions/p1"]);
  });

  it("skips a backend whose circuit is open after repeated failures", async () => {
    const net = network({ a: ["refused"], b: ["ok"] });
    const inference = client(net.fetch, ["a", "b"], {
      retries: 0,
      failureThreshold: 2,
      cooldownMs: 60_000,
    });
    for (let i = 0; i < 3; i++) await inference.submit(`p${i}`, { input: { prompt: "a" } });
    const toA = net.calls.filter((c) => c.startsWith("PUT a/")).length;
    expect(toA).toBe(2); // the third submission no longer tries a
  });
});

describe("CircuitBreaker", () => {
  it("opens after the threshold, lets one trial through after the cooldown, and closes on success", () => {
    let now = 0;
    const breaker = new CircuitBreaker(2, 1000, () => now);
    breaker.failure();
    expect(breaker.state).toBe("closed");
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
    now = 1000;
    expect(breaker.allow()).toBe(true); // the half-open trial
    expect(breaker.allow()).toBe(false); // only one at a time
    breaker.success();
    expect(breaker.state).toBe("closed");
  });
});
