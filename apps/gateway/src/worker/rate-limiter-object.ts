import { DurableObject } from "cloudflare:workers";
import { gcra, type RateDecision, type RatePolicy } from "../ratelimit/limiter.ts";

/**
 * One per API key: the GCRA state lives in this object's storage, and a Durable Object handles one
 * request at a time, so limits are exact however many isolates and locations call it.
 */
export class RateLimiterDurableObject extends DurableObject {
  async take(policy: RatePolicy): Promise<RateDecision> {
    const tat = await this.ctx.storage.get<number>("tat");
    const { tatMs, decision } = gcra(tat, Date.now(), policy);
    if (decision.allowed) await this.ctx.storage.put("tat", tatMs);
    return decision;
  }
}
