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
 * GCRA (the generic cell rate algorithm, a token bucket stored as one timestamp): `limit`
 * requests per `windowSeconds`, with bursts up to `limit`. Returns the new theoretical arrival
 * time (TAT) to store and the decision. Pure, so every backend (memory, Redis Lua, Durable
 * Object) computes exactly the same thing.
 */
export function gcra(
  tatMs: number | undefined,
  nowMs: number,
  { limit, windowSeconds }: RatePolicy,
) {
  const interval = (windowSeconds * 1000) / limit;
  const burst = windowSeconds * 1000;
  const tat = Math.max(tatMs ?? nowMs, nowMs);
  const newTat = tat + interval;
  const allowAt = newTat - burst;
  // The epsilon absorbs float error from summing fractional intervals, so exactly `limit` pass.
  if (allowAt - nowMs > 1e-6) {
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
