import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findRedisServer,
  type RedisTestServer,
  startRedisTestServer,
} from "../../../../test/support/redis.ts";
import { gcra, type RateDecision, type RatePolicy } from "../ratelimit/limiter.ts";
import { RedisRateLimiter } from "./redis-limiter.ts";

const hasRedis = findRedisServer() !== null;
if (!hasRedis) console.warn("skipped: redis-server is not installed");

/**
 * What the pure gcra() decides for `count` takes from an empty bucket, the first at `firstMs` and
 * the others at `restMs`.
 */
function gcraBurst(policy: RatePolicy, count: number, firstMs: number, restMs = firstMs) {
  let tat: number | undefined;
  return Array.from({ length: count }, (_, i): RateDecision => {
    const result = gcra(tat, i === 0 ? firstMs : restMs, policy);
    tat = result.tatMs;
    return result.decision;
  });
}

describe.skipIf(!hasRedis)("RedisRateLimiter against a real redis-server", () => {
  let server: RedisTestServer;
  let redis: Redis;
  let other: Redis;
  let keyCounter = 0;
  const freshKey = () => `key-${process.pid}-${++keyCounter}`;
  /** Redis's own clock in integer ms, as the Lua script computes it. */
  const redisNow = async () => {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };

  beforeAll(async () => {
    server = await startRedisTestServer({ maxLifetimeS: 300 });
    redis = new Redis(server.url);
    other = new Redis(server.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    other?.disconnect();
    await server?.stop();
  });

  it.each([
    { limit: 7, windowSeconds: 60 },
    { limit: 13, windowSeconds: 3600 },
    { limit: 100, windowSeconds: 600 },
    { limit: 997, windowSeconds: 3600 },
  ])(
    "decides a burst of 3x $limit per $windowSeconds s like gcra() within the burst's time span",
    async (policy) => {
      const limiter = new RedisRateLimiter(redis);
      const key = freshKey();
      const count = policy.limit * 3;
      const before = await redisNow();
      // Sent back to back on one connection, so Redis runs them in this order.
      const decisions = await Promise.all(
        Array.from({ length: count }, () => limiter.take(key, policy)),
      );
      const after = await redisNow();
      expect(decisions.filter((d) => d.allowed)).toHaveLength(policy.limit);
      // Each take ran at some instant in [before, after]: the decisions must lie between those of
      // a burst entirely at `before` and one whose takes after the first all come at `after`.
      const early = gcraBurst(policy, count, before);
      const late = gcraBurst(policy, count, before, after);
      decisions.forEach((decision, i) => {
        const [e, l] = [early[i]!, late[i]!];
        expect(decision, `take ${i + 1}`).toMatchObject({
          allowed: e.allowed,
          limit: e.limit,
          remaining: e.remaining,
        });
        expect(l).toMatchObject({ allowed: e.allowed, remaining: e.remaining });
        expect(decision.resetSeconds).toBeGreaterThanOrEqual(l.resetSeconds);
        expect(decision.resetSeconds).toBeLessThanOrEqual(e.resetSeconds);
        expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(l.retryAfterSeconds);
        expect(decision.retryAfterSeconds).toBeLessThanOrEqual(e.retryAfterSeconds);
      });
    },
  );

  it("follows gcra() step by step through refills, mid-interval", async () => {
    const policy = { limit: 4, windowSeconds: 2 }; // one request back every 500 ms
    const limiter = new RedisRateLimiter(redis);
    const key = freshKey();
    const start = await redisNow();
    // Offsets sit 250 ms away from every interval boundary, so a few ms of latency cannot matter.
    const schedule = [
      { atMs: 0, takes: 6 },
      { atMs: 750, takes: 2 },
      { atMs: 1750, takes: 3 },
      { atMs: 2750, takes: 1 },
    ];
    let tat: number | undefined;
    for (const { atMs, takes } of schedule) {
      const wait = start + atMs - (await redisNow());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let i = 0; i < takes; i++) {
        const now = await redisNow();
        const expected = gcra(tat, now, policy);
        tat = expected.tatMs;
        expect(await limiter.take(key, policy), `take ${i + 1} at +${atMs} ms`).toEqual(
          expected.decision,
        );
      }
    }
  });

  it("admits exactly the limit across two connections taking at once", async () => {
    const policy = { limit: 25, windowSeconds: 3600 };
    const a = new RedisRateLimiter(redis);
    const b = new RedisRateLimiter(other);
    const key = freshKey();
    const decisions = await Promise.all(
      Array.from({ length: 250 }, (_, i) => (i % 2 === 0 ? a : b).take(key, policy)),
    );
    const admitted = decisions.filter((d) => d.allowed);
    expect(admitted).toHaveLength(25);
    expect(admitted.map((d) => d.remaining).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
    for (const refused of decisions.filter((d) => !d.allowed)) {
      expect(refused).toMatchObject({ remaining: 0, limit: 25 });
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
  });

  it("keeps keys and prefixes apart and lets idle state expire after window + interval", async () => {
    const policy = { limit: 2, windowSeconds: 30 };
    const limiter = new RedisRateLimiter(redis, "test:a:");
    const otherPrefix = new RedisRateLimiter(redis, "test:b:");
    const key = freshKey();
    await limiter.take(key, policy);
    await limiter.take(key, policy);
    expect((await limiter.take(key, policy)).allowed).toBe(false);
    expect((await limiter.take(freshKey(), policy)).allowed).toBe(true);
    expect((await otherPrefix.take(key, policy)).allowed).toBe(true);
    const ttl = await redis.pttl(`test:a:${key}`);
    expect(ttl).toBeGreaterThan(30_000);
    expect(ttl).toBeLessThanOrEqual(45_000);
  });
});
