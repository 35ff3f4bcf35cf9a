import { EaselError, verifyRequest } from "@easel/schema";
import type { MiddlewareHandler } from "hono";

export interface SignatureOptions {
  secret: string;
  /** Paths served without a signature (probes and scrapers). */
  publicPaths?: readonly string[];
  /** Seconds a nonce is remembered; must cover the signature window on both sides. */
  nonceTtlS?: number;
  now?: () => number;
}

/**
 * Verifies the HMAC signature of every request (method, path, timestamp, nonce, body) and refuses
 * replays of a nonce seen within the signature window. Missing, wrong, stale or replayed
 * signatures are 401 `invalid_signature`.
 *
 * @example
 * app.use(requireSignature({ secret: env.EASEL_SHARED_SECRET, publicPaths: ["/health"] }));
 */
export function requireSignature({
  secret,
  publicPaths = [],
  nonceTtlS = 660,
  now = () => Date.now(),
}: SignatureOptions): MiddlewareHandler {
  if (secret.length < 16)
    throw new RangeError("requireSignature: secret must be at least 16 characters");
  const seen = new Map<string, number>();
  let lastSweep = now();

  return async function signature(c, next) {
    if (publicPaths.includes(c.req.path)) return next();
    const url = new URL(c.req.url);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const result = await verifyRequest({
      method: c.req.method,
      path: url.pathname + url.search,
      body,
      headers: c.req.raw.headers,
      secret,
      now: Math.floor(now() / 1000),
    });
    if (!result.ok) {
      throw new EaselError("invalid_signature", `request signature is ${result.reason}`);
    }
    const t = now();
    if (t - lastSweep > 60_000) {
      for (const [nonce, expiry] of seen) if (expiry < t) seen.delete(nonce);
      lastSweep = t;
    }
    if ((seen.get(result.nonce) ?? 0) > t)
      throw new EaselError("invalid_signature", "request signature is replayed");
    seen.set(result.nonce, t + nonceTtlS * 1000);
    c.set("rawBody", body);
    await next();
  };
}
