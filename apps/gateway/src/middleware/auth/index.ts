import { EaselError } from "@easel/schema";
import type { MiddlewareHandler } from "hono";
import type { ApiKey, KeyStore } from "../../keys/keys.ts";

export type AuthVariables = { apiKey: ApiKey };

export interface AuthOptions {
  keys: KeyStore;
}

/**
 * Requires `Authorization: Bearer <token>` with a known API key and sets `c.var.apiKey`. Missing or
 * unknown keys are 401 `unauthorized` with a `WWW-Authenticate` challenge.
 *
 * @example
 * app.use("/v1/*", auth({ keys }));
 */
export function auth({ keys }: AuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  if (!keys) throw new TypeError("auth: keys is required");
  return async function authMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim());
    const key = match?.[1] ? await keys.verify(match[1]) : null;
    if (!key) {
      c.header("www-authenticate", 'Bearer realm="easel"');
      throw new EaselError(
        "unauthorized",
        match ? "invalid API key" : "missing API key: send Authorization: Bearer <key>",
      );
    }
    c.set("apiKey", key);
    await next();
  };
}
