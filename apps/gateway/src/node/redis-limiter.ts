import type { Redis } from "ioredis";
import type { RateDecision, RateLimiter, RatePolicy } from "../ratelimit/limiter.ts";

/**
 * GCRA in Redis, atomically in one Lua script, so several Node gateways share exact limits. Time
 * comes from Redis (`TIME`), not from the gateways, so their clocks need not agree. Same math as
 * `gcra()` in ratelimit/limiter.ts (interval on the 1/1024 ms grid of `gcraIntervalMs`); the TAT
 * is stored with 17 significant digits because `tostring` keeps 14 and would round it off the grid.
 */
const SCRIPT = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = math.max(1, math.floor(window_ms * 1024 / limit)) / 1024
local tat = tonumber(redis.call('GET', key) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window_ms
if allow_at > now then
  return {0, 0, math.ceil((tat - now) / 1000), math.max(1, math.ceil((allow_at - now) / 1000))}
end
redis.call('SET', key, string.format('%.17g', new_tat), 'PX', math.ceil(window_ms + interval))
local remaining = math.floor((window_ms - (new_tat - now)) / interval + 1e-9)
return {1, remaining, math.ceil((new_tat - now) / 1000), 0}
`;

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = "easel:rl:",
  ) {}

  async take(key: string, { limit, windowSeconds }: RatePolicy): Promise<RateDecision> {
    const [allowed, remaining, reset, retry] = (await this.redis.eval(
      SCRIPT,
      1,
      `${this.prefix}${key}`,
      String(limit),
      String(windowSeconds * 1000),
    )) as [number, number, number, number];
    return {
      allowed: allowed === 1,
      limit,
      remaining,
      resetSeconds: reset,
      retryAfterSeconds: retry,
    };
  }
}
