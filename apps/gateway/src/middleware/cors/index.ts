import { EaselError } from "@easel/schema";
import type { MiddlewareHandler } from "hono";

export interface CorsOptions {
  /** Origins allowed to call from a browser (`https://app.example.com`), or `["*"]` for any. */
  origins: readonly string[];
  /** Request headers a browser may send. Default: none beyond the CORS-safelisted ones. */
  allowHeaders?: readonly string[];
  /** Response headers a page may read. Default: none beyond the safelisted ones. */
  exposeHeaders?: readonly string[];
  /** Methods a preflight may ask for. Default `GET, HEAD, POST`. */
  allowMethods?: readonly string[];
  /** How long a browser may cache a preflight, in seconds. Default 600. */
  maxAgeSeconds?: number;
}

/**
 * CORS for browsers. A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
 * from an allowed origin is answered 204 here; from any other origin it is 403 `forbidden`, so a
 * developer sees at once why the browser refuses. Other requests go on, with
 * `Access-Control-Allow-Origin` only for allowed origins.
 *
 * Headers are set before the route runs, through `c.header()`: touching `c.res` early (as hono's
 * `cors()` does) makes Hono build and merge extra Response objects on every request.
 *
 * @example
 * app.use(cors({ origins: ["https://app.example.com"], allowHeaders: ["authorization"] }));
 */
export function cors({
  origins,
  allowHeaders = [],
  exposeHeaders = [],
  allowMethods = ["GET", "HEAD", "POST"],
  maxAgeSeconds = 600,
}: CorsOptions): MiddlewareHandler {
  if (!Array.isArray(origins)) throw new TypeError("cors: origins must be an array");
  for (const origin of origins) {
    if (origin !== "*" && !/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(origin))
      throw new TypeError(
        `cors: origin must be scheme://host[:port] or "*", got ${JSON.stringify(origin)}`,
      );
  }
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0)
    throw new TypeError(`cors: maxAgeSeconds must be a non-negative integer, got ${maxAgeSeconds}`);
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  const expose = exposeHeaders.join(",");
  const preflightHeaders = {
    "access-control-allow-methods": allowMethods.join(","),
    ...(allowHeaders.length > 0 && { "access-control-allow-headers": allowHeaders.join(",") }),
    "access-control-max-age": String(maxAgeSeconds),
  };

  return async function corsMiddleware(c, next) {
    const origin = c.req.header("origin");
    const allowOrigin =
      origin === undefined ? null : anyOrigin ? "*" : allowed.has(origin) ? origin : null;
    if (!anyOrigin) c.header("vary", "Origin");
    if (c.req.method === "OPTIONS" && origin !== undefined) {
      if (c.req.header("access-control-request-method") !== undefined) {
        if (allowOrigin === null)
          throw new EaselError("forbidden", "CORS preflight refused: this origin is not allowed");
        return c.body(null, 204, {
          "access-control-allow-origin": allowOrigin,
          ...preflightHeaders,
        });
      }
    }
    if (allowOrigin !== null) c.header("access-control-allow-origin", allowOrigin);
    if (expose) c.header("access-control-expose-headers", expose);
    await next();
    // A handler that returns a Response it built itself (tRPC's fetch adapter) does not get the
    // headers prepared by c.header(): without this, browsers refuse every /trpc answer.
    if (allowOrigin !== null && !c.res.headers.has("access-control-allow-origin")) {
      const headers = {
        "access-control-allow-origin": allowOrigin,
        ...(expose && { "access-control-expose-headers": expose }),
        ...(!anyOrigin && { vary: "Origin" }),
      };
      try {
        for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
      } catch {
        // Immutable headers (a Response straight from fetch()): copy it once.
        const copy = new Response(c.res.body, c.res);
        for (const [name, value] of Object.entries(headers)) copy.headers.set(name, value);
        c.res = copy;
      }
    }
  };
}
