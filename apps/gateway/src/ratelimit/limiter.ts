/** The outcome of asking for one request's worth of a key's allowance. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests still admissible right now. */
  remaining: number;
  /** Seconds until the allowance is whole again. */
  resetSeconds: number;
  /** Seconds to wait before a retry can succeed (0 when allowed). */
  retryAfterSeconds: number;
}

export interface RatePolicy {
  limit: number;
  windowSeconds: number;
}

/** Exact per-key rate limiting; implementations: memory, Redis, a Durable Object. */
export interface RateLimiter {
  take(key: string, policy: RatePolicy): Promise<RateDecision>;
}

/**
 * The emission interval of a policy in ms, rounded down to a multiple of 1/1024 ms. TATs are then
 * integer ms plus multiples of 1/1024, which doubles hold exactly (until the year 2109), so sums
 * never drift and a burst admits exactly `limit` whenever `limit × (limit + 1) < 1024 × window ms`
 * (for a 60 s window, up to 7,837 requests). Unrounded, `now + 7 × (60000 / 7)` lands a fraction of a
 * microsecond past `now + 60000` and the last request of a same-millisecond burst was refused.
 */
export function gcraIntervalMs(limit: number, windowSeconds: number): number {
  // At least one grid step, so absurd policies (over 1024 requests per ms) still have a bucket.
  return Math.max(1, Math.floor((windowSeconds * 1000 * 1024) / limit)) / 1024;
}

/**
 * GCRA (the generic cell rate algorithm, a token bucket stored as one timestamp): `limit`
 * requests per `windowSeconds`, with bursts up to `limit`. Returns the new theoretical arrival
 * time (TAT) to store and the decision. Pure, so every backend (memory, Redis Lua, Durable
 * Object) computes exactly the same thing; `nowMs` must be an integer (Date.now, Redis TIME ms).
 */
export function gcra(
  tatMs: number | undefined,
  nowMs: number,
  { limit, windowSeconds }: RatePolicy,
) {
  const interval = gcraIntervalMs(limit, windowSeconds);
  const burst = windowSeconds * 1000;
  const tat = Math.max(tatMs ?? nowMs, nowMs);
  const newTat = tat + interval;
  const allowAt = newTat - burst;
  if (allowAt > nowMs) {
    const retryAfterMs = allowAt - nowMs;
    return {
      tatMs: tat,
      decision: {
        allowed: false,
        limit,
        remaining: 0,
        resetSeconds: Math.ceil((tat - nowMs) / 1000),
        retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      },
    };
  }
  return {
    tatMs: newTat,
    decision: {
      allowed: true,
      limit,
      remaining: Math.floor((burst - (newTat - nowMs)) / interval + 1e-9),
      resetSeconds: Math.ceil((newTat - nowMs) / 1000),
      retryAfterSeconds: 0,
    },
  };
}

/** In-process limiter: exact for one Node instance. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly tats = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  async take(key: string, policy: RatePolicy): Promise<RateDecision> {
    const now = this.now();
    const { tatMs, decision } = gcra(this.tats.get(key), now, policy);
    this.tats.set(key, tatMs);
    if (this.tats.size > 100_000) this.sweep(now);
    return decision;
  }

  private sweep(now: number): void {
    for (const [key, tat] of this.tats) if (tat < now) this.tats.delete(key);
  }
}
