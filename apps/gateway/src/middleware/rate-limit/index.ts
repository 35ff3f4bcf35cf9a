import { EaselError } from "@easel/schema";
import type { MiddlewareHandler } from "hono";
import type { ApiKey } from "../../keys/keys.ts";
import type { RateLimiter } from "../../ratelimit/limiter.ts";

export interface RateLimitOptions {
  limiter: RateLimiter;
  /** Name of the policy in the headers. Default `"default"`. */
  policyName?: string;
}

/**
 * Per-key request limits from the key's own policy, with the IETF draft headers on every response
 * (`RateLimit-Policy: "default";q=60;w=60`, `RateLimit: "default";r=59;t=1`) and 429 + Retry-After
 * when the allowance is spent. Runs after `auth` (it needs `c.var.apiKey`).
 *
 * @example
 * app.use("/v1/*", auth({ keys }), rateLimit({ limiter: new MemoryRateLimiter() }));
 */
export function rateLimit({
  limiter,
  policyName = "default",
}: RateLimitOptions): MiddlewareHandler<{
  Variables: { apiKey: ApiKey };
}> {
  if (!limiter) throw new TypeError("rateLimit: limiter is required");
  if (!/^[a-z][a-z0-9_-]*$/.test(policyName))
    throw new TypeError("rateLimit: policyName must be a token");
  return async function rateLimitMiddleware(c, next) {
    const key = c.get("apiKey");
    const { requests, windowSeconds } = key.limits;
    const decision = await limiter.take(key.id, { limit: requests, windowSeconds });
    c.header("ratelimit-policy", `"${policyName}";q=${requests};w=${windowSeconds}`);
    c.header("ratelimit", `"${policyName}";r=${decision.remaining};t=${decision.resetSeconds}`);
    if (!decision.allowed) {
      throw new EaselError(
        "rate_limited",
        `rate limit of ${requests} requests per ${windowSeconds} s exceeded for key ${key.name}; retry in ${decision.retryAfterSeconds} s`,
        { retryAfter: decision.retryAfterSeconds },
      );
    }
    await next();
  };
}
