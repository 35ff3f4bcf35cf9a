import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newToken, startTestStack, type TestStack } from "../adversarial/stack.ts";
import { findRedisServer, type RedisTestServer, startRedisTestServer } from "../support/redis.ts";
import { type BurstResponse, burst } from "./burst.ts";
import { type NodeGateway, startNodeGateway } from "./node-gateway.ts";

/**
 * 13 requests per hour: a fractional interval (276,923.08 ms), so exactness does not lean on
 * round numbers, and so long that nothing refills during a burst.
 */
const POLICY = { requests: 13, windowSeconds: 3600, concurrentJobs: 4 };
const INTERVAL_S = POLICY.windowSeconds / POLICY.requests;
const BURST = POLICY.requests * 10;
const CLIENTS = 26;
const PATH = "/v1/models";

/**
 * The burst admitted exactly `POLICY.requests`, every answer carries the policy and the current
 * allowance, the admitted ones counted the allowance down 12..0, and every 429 says when to retry.
 */
function expectExactlyTheLimit(responses: BurstResponse[], burstSeconds: number) {
  const statuses = responses.map((r) => r.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(POLICY.requests);
  expect(statuses.filter((s) => s === 429)).toHaveLength(BURST - POLICY.requests);
  const remaining: number[] = [];
  for (const r of responses) {
    expect(r.headers["ratelimit-policy"]).toBe(
      `"default";q=${POLICY.requests};w=${POLICY.windowSeconds}`,
    );
    const match = /^"default";r=(\d+);t=(\d+)$/.exec(String(r.headers["ratelimit"]));
    expect(match, `RateLimit header ${r.headers["ratelimit"]}`).not.toBeNull();
    const [r_, t] = [Number(match![1]), Number(match![2])];
    expect(t).toBeGreaterThanOrEqual(1);
    expect(t).toBeLessThanOrEqual(POLICY.windowSeconds);
    if (r.status === 200) {
      remaining.push(r_);
      expect(r.headers["retry-after"]).toBeUndefined();
      expect(JSON.parse(r.body)).toMatchObject({ object: "list" });
    } else {
      expect(r_).toBe(0);
      // The next token is one interval after the burst's first admission.
      const retryAfter = Number(r.headers["retry-after"]);
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil(INTERVAL_S));
      expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil(INTERVAL_S - burstSeconds - 1));
      expect(JSON.parse(r.body).error).toMatchObject({
        code: "rate_limited",
        type: "rate_limit_error",
      });
    }
  }
  expect(remaining.sort((a, b) => a - b)).toEqual(
    Array.from({ length: POLICY.requests }, (_, i) => i),
  );
}

async function timedBurst(targets: string[], token: string) {
  const started = performance.now();
  const responses = await burst({
    targets,
    path: PATH,
    headers: { authorization: `Bearer ${token}` },
    total: BURST,
    clients: CLIENTS,
  });
  return { responses, seconds: (performance.now() - started) / 1000 };
}

describe(`a burst of ${BURST} requests against a limit of ${POLICY.requests}/hour`, () => {
  describe("through the Durable Object on workerd (wrangler dev)", () => {
    const token = newToken("sk-burst");
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({
        worker: true,
        keys: [{ id: "burst", token, limits: POLICY }],
      });
    });
    afterAll(async () => {
      await stack?.stop();
    });

    it(`admits exactly ${POLICY.requests} and refuses the rest with 429 and Retry-After`, async () => {
      const { responses, seconds } = await timedBurst([stack.baseUrl], token);
      expectExactlyTheLimit(responses, seconds);
    });
  });

  const hasRedis = findRedisServer() !== null;
  if (!hasRedis) console.warn("skipped: redis-server is not installed");

  describe.skipIf(!hasRedis)("through two Node gateways sharing one real Redis", () => {
    const token = newToken("sk-burst");
    let redis: RedisTestServer;
    let stack: TestStack;
    let second: NodeGateway;

    beforeAll(async () => {
      redis = await startRedisTestServer({ maxLifetimeS: 300 });
      stack = await startTestStack({
        keys: [{ id: "burst", token, limits: POLICY }],
        gatewayEnv: { REDIS_URL: redis.url },
      });
      second = await startNodeGateway({ ...stack.gatewayEnv, REDIS_URL: redis.url });
    });
    afterAll(async () => {
      await second?.stop();
      await stack?.stop();
      await redis?.stop();
    });

    it(`admits exactly ${POLICY.requests} across both and refuses the rest with 429 and Retry-After`, async () => {
      expect(second.logs.join("\n")).toContain('"limiter":"redis"');
      const { responses, seconds } = await timedBurst([stack.baseUrl, second.baseUrl], token);
      expectExactlyTheLimit(responses, seconds);
      // Each gateway answered half of the burst.
      for (const target of [stack.baseUrl, second.baseUrl]) {
        expect(responses.filter((r) => r.target === target)).toHaveLength(BURST / 2);
      }
      // The shared state is the key's GCRA timestamp in Redis.
      const client = new Redis(redis.url);
      try {
        const tat = Number(await client.get("easel:rl:burst"));
        const [sec, micros] = await client.time();
        const ahead = tat - (Number(sec) * 1000 + Math.floor(Number(micros) / 1000));
        expect(ahead).toBeGreaterThan(POLICY.windowSeconds * 1000 - 60_000);
        expect(ahead).toBeLessThanOrEqual(POLICY.windowSeconds * 1000);
      } finally {
        client.disconnect();
      }
    });
  });
});
